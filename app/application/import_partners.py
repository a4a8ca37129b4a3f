"""The `importPartners` use case: rows of the Odoo contacts layout read, compared with
what the read model holds (once it shows every event recorded so far), imported in one
command, and answered with the partners' rows once visible."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic

from app.application.importing.lookups import read_lookups
from app.application.importing.report import ImportReport
from app.application.ports import ImportLookupSource, Row
from app.application.read_your_writes import ReadYourWrites
from app.domain import odoo_columns as oc
from app.domain.audited import Audit
from app.domain.errors import validation
from app.domain.messages import Message

MAX_ROWS = 1000
"""Rows per request at most (files go through `partnerbook import partners`)."""


@dataclass(frozen=True)
class ImportAnswer(Generic[Row]):
    report: ImportReport
    partners: list[Row | None] | None
    """The partners of the rows imported, in input order (None for a dry run)."""


@dataclass(frozen=True)
class PartnerImport(Generic[Row]):
    commands: ReadYourWrites[Row]
    lookups: ImportLookupSource

    async def run(
        self,
        records: Sequence[Mapping[str, Any]],
        audit: Audit,
        *,
        dry_run: bool = False,
        idempotency_key: str | None = None,
    ) -> ImportAnswer[Row]:
        """`records`: Odoo column -> cell, one a row. Raises DomainError for too many rows."""
        if len(records) > MAX_ROWS:
            raise validation(
                Message(
                    "at most %(max_rows)s rows per request (%(count)s given); use `partnerbook import partners` for files",
                    max_rows=MAX_ROWS,
                    count=len(records),
                ),
                "rows",
            )
        rows = [oc.read_row(n, r) for n, r in enumerate(records, start=1)]
        commands = self.commands
        await commands.caught_up()
        async with self.lookups.reading() as reads:
            lookups = await read_lookups(reads, rows, idempotency_key)
        report: ImportReport = await commands.run(
            commands.app.import_partners,
            rows,
            lookups,
            audit,
            dry_run=dry_run,
            idempotency_key=idempotency_key,
        )
        if dry_run:
            return ImportAnswer(report, None)
        await commands.visible(report.position)
        ids = [report.partner_ids[n] for n in sorted(report.partner_ids)]
        found = await commands.partners.get_many(ids)
        return ImportAnswer(report, [found.get(i) for i in ids])
