"""The application's use cases, wired for one request: its thread pool, the projections'
waiter and the query directories that serve as the use cases' read-model ports."""

from __future__ import annotations

from app.application.import_partners import PartnerImport
from app.application.merge_partners import Merging
from app.application.read_your_writes import ReadYourWrites
from app.application.saved_rows import SavedRows
from app.domain.audited import Audit, check_reason
from app.queries.duplicates import MergeDirectory
from app.queries.history_queries import row_as_of
from app.queries.import_lookups import ImportLookupDirectory
from app.queries.partners.rows import PartnerRow
from app.schema.context import Info


def audit(info: Info, reason: str | None) -> Audit:
    """Who asks, in which request, and why: the audit fields of the events recorded (a
    reason past its limit is a VALIDATION error: call it where DomainError is answered)."""
    check_reason(reason)
    return Audit(actor=info.context.actor, request_id=info.context.request_id, reason=reason)


def commands(info: Info) -> ReadYourWrites[PartnerRow]:
    services = info.context.services
    return ReadYourWrites(
        app=services.app,
        run=info.context.run,
        read_side=services.read_side or services.waiter,
        within=services.settings.read_your_writes_timeout,
        partners=services.directory,
    )


def merging(info: Info) -> Merging[PartnerRow]:
    return Merging(commands(info), MergeDirectory(info.context.services.directory.pool), row_as_of)


def partner_import(info: Info) -> PartnerImport[PartnerRow]:
    pool = info.context.services.directory.pool
    return PartnerImport(commands(info), ImportLookupDirectory(pool))


def saved_rows(info: Info) -> SavedRows[PartnerRow]:
    return SavedRows(commands(info), row_as_of)
