"""Opportunities of the 360° view: by id, and those of partners (each with its contacts'
when it is a commercial partner), newest first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from psycopg.sql import SQL, Literal

from app.queries.partner_scope import scope_of
from app.queries.record_pages import RecordReader


@dataclass(frozen=True)
class OpportunityRow:
    id: UUID
    partner_id: UUID
    name: str
    expected_revenue_amount: Decimal | None
    expected_revenue_currency: str | None
    probability: Decimal | None
    stage: str
    salesperson_id: UUID | None
    lost_reason: str | None
    version: int
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None


OpportunitiesAsked = tuple[UUID, int]
"""A partner's opportunities asked for: (partner id, at most how many)."""


class OpportunityDirectory(RecordReader):
    async def opportunities(self, ids: Sequence[UUID]) -> dict[UUID, OpportunityRow]:
        query = SQL("SELECT * FROM opportunities WHERE id = ANY({})").format(Literal(list(ids)))
        return {row.id: row for row in await self._rows(query, OpportunityRow)}

    async def opportunities_of(
        self, keys: Sequence[OpportunitiesAsked]
    ) -> dict[OpportunitiesAsked, list[OpportunityRow]]:
        """For each (partner, n), its newest `n` opportunities (a commercial partner's
        with its contacts'): one query for the keys asking for the same `n`, never more
        rows than asked for (a big customer has thousands)."""
        found: dict[OpportunitiesAsked, list[OpportunityRow]] = {k: [] for k in keys}
        groups: dict[int, list[UUID]] = {}
        for partner_id, limit in keys:
            groups.setdefault(limit, []).append(partner_id)
        async with self.pool.connection() as conn:
            for limit, ids in groups.items():
                query = SQL(
                    "SELECT r.id AS root, o.* FROM unnest({ids}::uuid[]) r(id) CROSS JOIN "
                    "LATERAL (SELECT * FROM opportunities o WHERE o.partner_id IN {s} "
                    "ORDER BY o.created_at DESC, o.id LIMIT {n}) o"
                ).format(ids=Literal(ids), s=scope_of(SQL("r.id")), n=Literal(limit))
                cur = await conn.execute(query)
                for root, *values in await cur.fetchall():
                    found[(root, limit)].append(OpportunityRow(*values))
        return found
