"""The look-ups of an import, read once before it plans: the registered partners its rows
may match or name as parent (by id, external id, ref, VAT, email or company name) with
their parents, and every tag, industry and salesperson. The reads are the port
`ImportLookupReads` (SQL in `app/queries/import_lookups.py`)."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from app.application.importing.known import ImportLookups, MatchKeys
from app.application.ports import ImportLookupReads
from app.domain import odoo_columns as oc


async def read_lookups(
    reads: ImportLookupReads, rows: Sequence[oc.OdooRow], idempotency_key: str | None = None
) -> ImportLookups:
    """`idempotency_key`: the partners it gave rows without an external id are read too."""
    partners = await reads.partners_matching(MatchKeys.of(rows, idempotency_key))
    have = {p.id for p in partners}
    parents = {
        UUID(parent_id)
        for p in partners
        if (parent_id := p.state.parent_id) and UUID(parent_id) not in have
    }
    if parents:
        partners += await reads.partners(list(parents))
    tags = await reads.tags()
    entries = await reads.catalog_entries(("INDUSTRY", "SALESPERSON"))
    return ImportLookups(
        partners=partners,
        tags=tags,
        industries=entries["INDUSTRY"],
        salespersons=entries["SALESPERSON"],
    )
