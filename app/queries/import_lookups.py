"""The reads behind an import's look-ups (`ImportLookupReads`): registered partners with
their own (not inherited) values, found by the keys of the rows or by id, and every tag
and catalog entry; on one connection of the read pool (`ImportLookupSource`) or on one
of the CLI's."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg.sql import SQL, Composable, Identifier
from psycopg_pool import AsyncConnectionPool

from app.application.importing.known import KnownEntry, KnownPartner, MatchKeys
from app.domain.partner_fields import FIELDS
from app.projections.partner_layout import OWN_COLUMNS


def _known_columns() -> Composable:
    return SQL(", ").join(
        SQL("p.{} AS {}").format(Identifier(OWN_COLUMNS[f]), Identifier(f))
        for f in FIELDS
        if f != "tag_ids"
    )


_KNOWN = SQL(
    "SELECT p.id, p.kind, p.archived, {cols}, ARRAY(SELECT pt.tag_id::text FROM partner_tags pt "
    "WHERE pt.partner_id = p.id ORDER BY 1) AS tag_ids FROM partners p WHERE "
).format(cols=_known_columns())

_MATCHING = SQL(
    "p.id = ANY(%(ids)s) OR p.external_id = ANY(%(xids)s) OR p.ref = ANY(%(refs)s) OR "
    "p.vat = ANY(%(vats)s) OR p.email_normalized = ANY(%(emails)s) OR "
    "(p.kind = 'COMPANY' AND lower(p.own_name) = ANY(%(names)s))"
)


def _known(row: dict[str, Any]) -> KnownPartner:
    values = {k: v for k, v in row.items() if k not in ("id", "kind", "archived")}
    for key in ("parent_id", "industry_id", "salesperson_id"):
        if values.get(key) is not None:
            values[key] = str(values[key])
    values["tag_ids"] = list(values.get("tag_ids") or [])
    return KnownPartner(row["id"], row["kind"], row["archived"], values)


class ImportLookupQueries:
    """The `ImportLookupReads` of one connection."""

    def __init__(self, conn: AsyncConnection[Any]) -> None:
        self.cursor = conn.cursor(row_factory=dict_row)

    async def partners_matching(self, keys: MatchKeys) -> list[KnownPartner]:
        await self.cursor.execute(
            _KNOWN + _MATCHING,
            {
                "ids": keys.ids,
                "xids": keys.xids,
                "refs": keys.refs,
                "vats": keys.vats,
                "emails": keys.emails,
                "names": keys.company_names,
            },
        )
        return [_known(r) for r in await self.cursor.fetchall()]

    async def partners(self, ids: Sequence[UUID]) -> list[KnownPartner]:
        await self.cursor.execute(_KNOWN + SQL("p.id = ANY(%s)"), (list(ids),))
        return [_known(r) for r in await self.cursor.fetchall()]

    async def tags(self) -> list[KnownEntry]:
        await self.cursor.execute("SELECT id, name, archived, parent_id FROM tags")
        return [
            KnownEntry(r["id"], r["name"], r["archived"], r["parent_id"])
            for r in await self.cursor.fetchall()
        ]

    async def catalog_entries(self, catalogs: Sequence[str]) -> dict[str, list[KnownEntry]]:
        await self.cursor.execute(
            "SELECT id, catalog, name, archived FROM catalog_entries WHERE catalog = ANY(%s)",
            (list(catalogs),),
        )
        entries: dict[str, list[KnownEntry]] = {catalog: [] for catalog in catalogs}
        for r in await self.cursor.fetchall():
            entries[r["catalog"]].append(KnownEntry(r["id"], r["name"], r["archived"]))
        return entries


class ImportLookupDirectory:
    """Import look-ups read through the read pool (the `ImportLookupSource` of the use
    case)."""

    def __init__(self, pool: AsyncConnectionPool[Any]) -> None:
        self.pool = pool

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[ImportLookupQueries]:
        async with self.pool.connection() as conn:
            yield ImportLookupQueries(conn)
