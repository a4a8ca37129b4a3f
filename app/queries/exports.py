"""Reads for imports and exports (issue 10): the registry's partners as an import compares
with them (own values, one query), and keyset pages of partners in the Odoo column layout."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg.sql import SQL, Composable, Identifier
from psycopg_pool import AsyncConnectionPool

from app.application.imports import ImportLookups, KnownEntry, KnownPartner
from app.domain import contact_fields as cf
from app.domain import odoo_columns as oc
from app.domain.partner_fields import FIELDS
from app.projections.partner_layout import OWN_COLUMNS
from app.queries.partners.filters import (
    PartnerFilter,
    search_condition,
    search_term,
    where_clause,
)


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


def _known(row: dict[str, Any]) -> KnownPartner:
    values = {k: v for k, v in row.items() if k not in ("id", "kind", "archived")}
    for key in ("parent_id", "industry_id", "salesperson_id"):
        if values.get(key) is not None:
            values[key] = str(values[key])
    values["tag_ids"] = list(values.get("tag_ids") or [])
    return KnownPartner(row["id"], row["kind"], row["archived"], values)


async def import_lookups(conn: AsyncConnection[Any], rows: Sequence[oc.OdooRow]) -> ImportLookups:
    """The partners an import may match or name as parent (by id, external id, ref, VAT,
    email or company name), their parents, every tag, industry and salesperson."""
    xids = {r.xid for r in rows if r.xid} | {r.parent_xid for r in rows if r.parent_xid}
    ids = [i for x in xids if (i := oc.partner_id_of_xid(x)) is not None]
    refs = [r.values["ref"] for r in rows if r.values.get("ref")]
    emails = [r.values["email"].lower() for r in rows if r.values.get("email")]
    vats: list[str] = []
    for r in rows:
        if r.values.get("vat"):
            with contextlib.suppress(cf.FieldInvalid):
                vats.append(cf.normalize_vat(r.values["vat"], r.values.get("country_code")))
    names = [r.parent_name.casefold() for r in rows if r.parent_name]
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        _KNOWN
        + SQL(
            "p.id = ANY(%(ids)s) OR p.external_id = ANY(%(xids)s) OR p.ref = ANY(%(refs)s) OR "
            "p.vat = ANY(%(vats)s) OR p.email_normalized = ANY(%(emails)s) OR "
            "(p.kind = 'COMPANY' AND lower(p.own_name) = ANY(%(names)s))"
        ),
        {
            "ids": ids,
            "xids": list(xids),
            "refs": refs,
            "vats": vats,
            "emails": emails,
            "names": names,
        },
    )
    partners = [_known(r) for r in await cur.fetchall()]
    have = {p.id for p in partners}
    parents = {
        UUID(parent_id)
        for p in partners
        if (parent_id := p.state.parent_id) and UUID(parent_id) not in have
    }
    if parents:
        await cur.execute(_KNOWN + SQL("p.id = ANY(%s)"), (list(parents),))
        partners += [_known(r) for r in await cur.fetchall()]
    await cur.execute("SELECT id, name, archived, parent_id FROM tags")
    tags = [
        KnownEntry(r["id"], r["name"], r["archived"], r["parent_id"]) for r in await cur.fetchall()
    ]
    await cur.execute(
        "SELECT id, catalog, name, archived FROM catalog_entries "
        "WHERE catalog IN ('INDUSTRY', 'SALESPERSON')"
    )
    entries = await cur.fetchall()
    return ImportLookups(
        partners=partners,
        tags=tags,
        industries=[
            KnownEntry(r["id"], r["name"], r["archived"])
            for r in entries
            if r["catalog"] == "INDUSTRY"
        ],
        salespersons=[
            KnownEntry(r["id"], r["name"], r["archived"])
            for r in entries
            if r["catalog"] == "SALESPERSON"
        ],
    )


class ImportLookupDirectory:
    """`import_lookups` through the read pool (the `ImportLookupSource` of a use case)."""

    def __init__(self, pool: AsyncConnectionPool[Any]) -> None:
        self.pool = pool

    async def lookups(self, rows: Sequence[oc.OdooRow]) -> ImportLookups:
        async with self.pool.connection() as conn:
            return await import_lookups(conn, rows)


EXPORT_COLUMNS = (
    "id",
    "name",
    "is_company",
    "parent_id/id",
    "type",
    "function",
    "street",
    "street2",
    "zip",
    "city",
    "state_id",
    "country_id/id",
    "phone",
    "mobile",
    "email",
    "website",
    "vat",
    "ref",
    "lang",
    "tz",
    "company_registry",
    "comment",
    "category_id",
    "user_id",
    "industry_id",
    "customer_rank",
    "supplier_rank",
    "active",
)
"""The Odoo import-compatible layout the export writes (and the import reads)."""

_EXPORT = SQL(
    "SELECT p.id, p.external_id, p.own_name, p.kind, p.type, p.function, p.street, p.street2, "
    "p.zip, p.city, p.state_code, p.country_code, p.phone, p.mobile, p.email, p.website, "
    "p.effective_vat, p.ref, p.lang, p.tz, p.company_registry, p.notes, p.is_customer, "
    "p.is_supplier, p.archived, p.parent_id, p.salesperson_id, p.industry_id, "
    "(SELECT pp.external_id FROM partners pp WHERE pp.id = p.parent_id) AS parent_xid, "
    "ARRAY(SELECT pt.tag_id FROM partner_tags pt WHERE pt.partner_id = p.id) AS tag_ids "
    "FROM partners p WHERE ({w}) AND p.id > %s ORDER BY p.id LIMIT %s"
)


@dataclass(frozen=True)
class ExportNames:
    tags: dict[UUID, str]
    """Tag id -> its path, "Region / EMEA"."""
    entries: dict[UUID, str]


async def _names(conn: AsyncConnection[Any]) -> ExportNames:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute("SELECT id, name, parent_id FROM tags")
    tags = {r["id"]: (r["name"], r["parent_id"]) for r in await cur.fetchall()}

    def path(tag_id: UUID) -> str:
        parts: list[str] = []
        current: UUID | None = tag_id
        while current is not None and current in tags and len(parts) < 64:
            name, current = tags[current]
            parts.append(name)
        return " / ".join(reversed(parts))

    await cur.execute(
        "SELECT id, name FROM catalog_entries WHERE catalog IN ('INDUSTRY', 'SALESPERSON')"
    )
    entries = {r["id"]: r["name"] for r in await cur.fetchall()}
    return ExportNames({t: path(t) for t in tags}, entries)


async def export_condition(
    conn: AsyncConnection[Any], f: PartnerFilter | None, now: datetime, search: str | None = None
) -> Composable:
    """No filter: every partner, archived ones too; a filter (and a segment's search): as
    the API reads them."""
    clause: Composable = SQL("TRUE") if f is None else where_clause(f, now)
    term = await search_term(conn, search)
    if term:
        clause = SQL("{} AND {}").format(clause, search_condition(term, search or ""))
    return clause


async def segment_definition(
    conn: AsyncConnection[Any], segment_id: UUID
) -> tuple[dict[str, Any] | None, str | None] | None:
    """(filter as the API spells it, search) of a segment; None when there is none."""
    cur = await conn.execute("SELECT filter, search FROM segments WHERE id = %s", (segment_id,))
    row = await cur.fetchone()
    return (row[0], row[1]) if row is not None else None


async def export_rows(
    conn: AsyncConnection[Any], condition: Composable, page_size: int = 2000
) -> AsyncIterator[dict[str, str]]:
    """Partners in the export layout, read in keyset pages by id."""
    names = await _names(conn)
    last = UUID(int=0)
    cur = conn.cursor(row_factory=dict_row)
    query = _EXPORT.format(w=condition)
    while True:
        await cur.execute(query, (last, page_size))
        page = await cur.fetchall()
        for row in page:
            yield _export_row(row, names)
        if len(page) < page_size:
            return
        last = page[-1]["id"]


def _flag(value: bool) -> str:
    return "True" if value else "False"


def _export_row(r: dict[str, Any], names: ExportNames) -> dict[str, str]:
    country = r["country_code"]
    state = ""
    if r["state_code"] and country:
        state = f"{cf.state_name(country, r['state_code'])} ({country})"
    country_xid = ""
    if country:
        reverse = {v: k for k, v in oc.COUNTRY_XIDS.items()}
        country_xid = f"base.{reverse.get(country, country.lower())}"
    parent = ""
    if r["parent_id"] is not None:
        parent = oc.xid_of_partner(r["parent_id"], r["parent_xid"])
    tags = sorted(names.tags.get(t, "") for t in r["tag_ids"] or ())
    values = {
        "id": oc.xid_of_partner(r["id"], r["external_id"]),
        "name": r["own_name"],
        "is_company": _flag(r["kind"] == "COMPANY"),
        "parent_id/id": parent,
        "type": oc.TYPE_OUT.get(r["type"], "contact"),
        "function": r["function"],
        "street": r["street"],
        "street2": r["street2"],
        "zip": r["zip"],
        "city": r["city"],
        "state_id": state,
        "country_id/id": country_xid,
        "phone": r["phone"],
        "mobile": r["mobile"],
        "email": r["email"],
        "website": r["website"],
        "vat": r["effective_vat"],
        "ref": r["ref"],
        "lang": r["lang"],
        "tz": r["tz"],
        "company_registry": r["company_registry"],
        "comment": r["notes"],
        "category_id": ",".join(t for t in tags if t),
        "user_id": names.entries.get(r["salesperson_id"], "") if r["salesperson_id"] else "",
        "industry_id": names.entries.get(r["industry_id"], "") if r["industry_id"] else "",
        "customer_rank": "1" if r["is_customer"] else "0",
        "supplier_rank": "1" if r["is_supplier"] else "0",
        "active": _flag(not r["archived"]),
    }
    return {k: "" if v is None else str(v) for k, v in values.items()}
