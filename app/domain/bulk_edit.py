"""Bulk edits of partners: the changes one request makes to many partners, and the record
of a finished bulk edit that a repeat with the same idempotency key answers from.

The changes are those a team makes to a batch: tags added and removed, the salesperson,
the customer and supplier flags (one `Updated` event per partner changed), or archiving
and restoring (one `Archived` or `Restored` event): never both kinds at once, so each
partner changed gets exactly one event."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from app.domain.audited import Audit, AuditedCreated, AuditedEvent
from app.domain.errors import DomainError, ErrorCode
from app.domain.partner import Partner

UNSET: Any = object()
"""A change left out (`salesperson_id=None` clears the salesperson)."""


@dataclass(frozen=True)
class BulkChanges:
    add_tag_ids: tuple[UUID, ...] = ()
    remove_tag_ids: tuple[UUID, ...] = ()
    salesperson_id: Any = UNSET
    is_customer: bool | None = None
    is_supplier: bool | None = None
    archive: bool | None = None

    def check(self) -> None:
        """Something to change, and archiving never mixed with field changes."""
        fields = self.field_changes_wanted()
        if self.archive is None and not fields:
            raise DomainError.single(ErrorCode.VALIDATION, "no change was asked for", "changes")
        if self.archive is not None and fields:
            raise DomainError.single(
                ErrorCode.VALIDATION,
                "archive (or restore) on its own: send the other changes in another request",
                "changes",
                "archive",
            )
        both = set(self.add_tag_ids) & set(self.remove_tag_ids)
        if both:
            raise DomainError.single(
                ErrorCode.VALIDATION, "a tag cannot be both added and removed", "changes"
            )

    def field_changes_wanted(self) -> bool:
        return bool(
            self.add_tag_ids
            or self.remove_tag_ids
            or self.salesperson_id is not UNSET
            or self.is_customer is not None
            or self.is_supplier is not None
        )

    def apply(self, partner: Partner, audit: Audit) -> bool:
        """Changes `partner` (one event) or returns False when it has all this already;
        DomainError when the partner refuses it."""
        if self.archive is True:
            return partner.archive(audit)
        if self.archive is False:
            return partner.restore(audit)
        patch: dict[str, Any] = {}
        if self.add_tag_ids or self.remove_tag_ids:
            tags = [t for t in partner.tag_ids if UUID(t) not in self.remove_tag_ids]
            tags += [str(t) for t in self.add_tag_ids if str(t) not in tags]
            if tags != partner.tag_ids:
                patch["tag_ids"] = tags
        if self.salesperson_id is not UNSET:
            patch["salesperson_id"] = self.salesperson_id
        for flag in ("is_customer", "is_supplier"):
            if getattr(self, flag) is not None:
                patch[flag] = getattr(self, flag)
        if not partner.changed(patch):
            return False
        return partner.update(patch, audit)

    def as_request(self) -> dict[str, Any]:
        """What an idempotency digest is made of."""
        return {
            "add": sorted(map(str, self.add_tag_ids)),
            "remove": sorted(map(str, self.remove_tag_ids)),
            "salesperson": "unset" if self.salesperson_id is UNSET else self.salesperson_id,
            "customer": self.is_customer,
            "supplier": self.is_supplier,
            "archive": self.archive,
        }


@dataclass
class BulkOutcome:
    matched: int = 0
    changed: int = 0
    unchanged: int = 0
    refused: list[tuple[str, list[dict[str, Any]]]] = field(default_factory=list)
    """(partner id, its errors as {field code message}), the first MAX_REFUSED_KEPT."""
    refused_count: int = 0


MAX_REFUSED_KEPT = 100


class BulkEdit(Aggregate):
    """A bulk edit under an idempotency key: the digest of its input, recorded before it
    changes anything (`Started`: the key is taken, a request with another input under it
    is refused), then what it did (`Finished`), which a repeat answers. Records made
    before `Started` existed hold both in one event (`Recorded`)."""

    class Recorded(AuditedCreated):
        digest: str
        matched: int
        changed: int
        unchanged: int
        refused: list[Any]
        refused_count: int

    class Started(AuditedCreated):
        digest: str

    class Finished(AuditedEvent):
        matched: int
        changed: int
        unchanged: int
        refused: list[Any]
        refused_count: int

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, BulkEdit)
            aggregate.outcome = _outcome(
                self.matched, self.changed, self.unchanged, self.refused, self.refused_count
            )

    def __init__(
        self,
        digest: str,
        matched: int | None = None,
        changed: int = 0,
        unchanged: int = 0,
        refused: list[Any] | None = None,
        refused_count: int = 0,
    ) -> None:
        self.digest = digest
        self.outcome: BulkOutcome | None = (
            None
            if matched is None
            else _outcome(matched, changed, unchanged, refused or [], refused_count)
        )
        """None while it runs (or if it never finished: a repeat runs it again)."""

    @classmethod
    def start(cls, job_id: UUID, digest: str, audit: Audit) -> BulkEdit:
        return cls._create(
            cls.Started,
            id=job_id,
            digest=digest,
            # The reason is about every partner changed: it goes on each one's event,
            # sealed with its key; here no erasure would reach it.
            **Audit(audit.actor, audit.request_id).as_event_fields(),
        )

    def finish(self, outcome: BulkOutcome, audit: Audit) -> None:
        self.trigger_event(
            self.Finished,
            matched=outcome.matched,
            changed=outcome.changed,
            unchanged=outcome.unchanged,
            refused=[[pid, errors] for pid, errors in outcome.refused],
            refused_count=outcome.refused_count,
            **Audit(audit.actor, audit.request_id).as_event_fields(),
        )


def _outcome(
    matched: int, changed: int, unchanged: int, refused: list[Any], refused_count: int
) -> BulkOutcome:
    return BulkOutcome(matched, changed, unchanged, [(r[0], r[1]) for r in refused], refused_count)
