"""The import command of `Partnerbook` (issue 10): rows read from an Odoo-layout file,
planned against what the registry holds, and saved in batches of many aggregates per
transaction, with the same domain rules as createPartner/updatePartner. It answers with
an outcome per row."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from app.application.base import CommandBase
from app.application.importing.applying import RowApplier
from app.application.importing.check_ahead import CheckAhead, worth_checking_ahead
from app.application.importing.keyed import KeyedRows
from app.application.importing.known import ImportLookups, KnownPartners
from app.application.importing.planning import Planner
from app.application.importing.references import ReferencesByName
from app.application.importing.report import ImportReport, Outcomes, Progress
from app.application.importing.saving import MAX_BATCH, Batches
from app.domain import odoo_columns as oc
from app.domain.audited import Audit, check_idempotency_key


class ImportCommands(CommandBase):
    def import_partners(
        self,
        rows: Sequence[oc.OdooRow],
        lookups: ImportLookups,
        audit: Audit,
        *,
        dry_run: bool = False,
        batch_size: int = MAX_BATCH,
        progress: Progress | None = None,
        idempotency_key: str | None = None,
        workers: int = 0,
    ) -> ImportReport:
        """`workers` > 0: so many processes check the emails and phone numbers of a big
        file ahead (the slowest checks: email-validator, phonenumbers) while this one
        plans and saves; the answers are those the domain would compute (same functions),
        so the outcome is the same as without. `idempotency_key`: raises DomainError
        (VALIDATION) when a partner it gave a row to was created from another row
        (`keyed.py`); the look-ups must hold the partners it gave rows to."""
        check_idempotency_key(idempotency_key)
        rows = list(rows)
        known = KnownPartners(lookups.partners)
        keyed = KeyedRows(self, rows, idempotency_key) if idempotency_key else None
        if keyed is not None:
            keyed.check(known)
        outcomes = Outcomes(progress)
        batches = Batches(self, outcomes, dry_run=dry_run, batch_size=batch_size, keyed=keyed)
        references = ReferencesByName(self, audit, lookups, batches, outcomes)
        applier = RowApplier(self, audit, known, references, batches, outcomes, keyed)
        with contextlib.ExitStack() as stack:
            if worth_checking_ahead(len(rows), workers):
                applier.ahead = stack.enter_context(CheckAhead(rows, workers))
            for plan in Planner(known, outcomes).plan(rows, keyed.ids if keyed else None):
                applier.apply(plan)
            batches.flush()
            applier.archive_inactive()
            batches.flush()
        return outcomes.report
