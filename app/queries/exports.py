"""Reads for exports (issue 10): keyset pages of partners in the Odoo column layout (what
an import compares with is read by `import_lookups.py`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg.sql import SQL, Composable, Literal

from app.domain import odoo_columns as oc
from app.queries.partners.filters import (
    PartnerFilter,
    search_condition,
    search_term,
    where_clause,
)

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
    "FROM partners p WHERE ({w}) AND p.id > {last} ORDER BY p.id LIMIT {n}"
)
"""Composed whole, no parameters: the condition holds literals (a segment's search,
`'%bel%'`) that psycopg would read as placeholders beside a `%s`."""


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
    while True:
        await cur.execute(_EXPORT.format(w=condition, last=Literal(last), n=Literal(page_size)))
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
    state = oc.state_label(country, r["state_code"]) if r["state_code"] and country else ""
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
        "country_id/id": oc.country_xid(country) if country else "",
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
        "category_id": oc.tag_cell([t for t in tags if t]),
        "user_id": names.entries.get(r["salesperson_id"], "") if r["salesperson_id"] else "",
        "industry_id": names.entries.get(r["industry_id"], "") if r["industry_id"] else "",
        "customer_rank": "1" if r["is_customer"] else "0",
        "supplier_rank": "1" if r["is_supplier"] else "0",
        "active": _flag(not r["archived"]),
    }
    return {k: "" if v is None else str(v) for k, v in values.items()}
