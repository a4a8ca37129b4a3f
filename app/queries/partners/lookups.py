"""Partners by id: the look-ups behind `partner(id)`, a mutation's result and the
request's data loader."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from psycopg.sql import SQL
from psycopg_pool import AsyncConnectionPool

from app.infra.params import uuid_array
from app.infra.rows import dataclass_row
from app.queries.partners.rows import COLUMNS, PartnerReads, PartnerRow


class PartnerLookups(PartnerReads):
    """Rows by id, in one statement per batch of ids."""

    def __init__(self, pool: AsyncConnectionPool[Any], table: str = "partners") -> None:
        super().__init__(pool, table)
        # Rendered once: the column list is long, and this runs for every partner(id).
        self._get_many = (
            SQL("SELECT {cols} FROM {t} WHERE id = ANY(%s::uuid[])")
            .format(cols=COLUMNS, t=self.table)
            .as_string(None)
        )
        # One id (`partner(id)`, a mutation's result) without an array; several as one
        # `uuid[]` literal (app/infra/params.uuid_array).
        self._get_one = (
            SQL("SELECT {cols} FROM {t} WHERE id = %s")
            .format(cols=COLUMNS, t=self.table)
            .as_string(None)
        )

    async def get_many(self, ids: Sequence[UUID]) -> dict[UUID, PartnerRow]:
        if not ids:
            return {}
        async with self.pool.connection() as conn:
            cur = conn.cursor(row_factory=dataclass_row(PartnerRow))
            if len(ids) == 1:
                await cur.execute(self._get_one, (ids[0],))
            else:
                await cur.execute(self._get_many, (uuid_array(ids),))
            return {row.id: row for row in await cur.fetchall()}
