"""Activities: calls, emails, meetings, to-dos and follow-ups planned with a partner."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from app.domain.audited import Audit, AuditedCreated, AuditedEvent
from app.domain.changes import AttributesChanged
from app.domain.errors import DomainError, ErrorCode, FieldError
from app.domain.messages import Message
from app.domain.moved import MovedToPartner, take_carried

ACTIVITY_TYPES = ("CALL", "EMAIL", "MEETING", "TODO", "FOLLOW_UP", "UPLOAD_DOCUMENT")
OPEN, DONE, CANCELLED = "OPEN", "DONE", "CANCELLED"
MAX_SUMMARY = 300
MAX_NOTE = 20_000


def _validate(changes: Mapping[str, Any]) -> dict[str, Any]:
    errors: list[FieldError] = []
    clean: dict[str, Any] = {}

    def fail(field: str, message: str) -> None:
        errors.append(FieldError((field,), ErrorCode.VALIDATION, message))

    for field, value in changes.items():
        if field == "activity_type":
            if value not in ACTIVITY_TYPES:
                fail(
                    "activityType",
                    Message(
                        "activityType must be one of %(activity_types)s",
                        activity_types=ACTIVITY_TYPES,
                    ),
                )
            clean[field] = value
        elif field in ("summary", "note"):
            text = value.strip() if isinstance(value, str) else None
            limit = MAX_SUMMARY if field == "summary" else MAX_NOTE
            if text is not None and len(text) > limit:
                fail(
                    field,
                    Message(
                        "%(field)s is longer than %(limit)s characters", field=field, limit=limit
                    ),
                )
            clean[field] = text or None
        elif field == "due_date":
            if not isinstance(value, str):
                fail("dueDate", "dueDate is required")
                continue
            try:
                clean[field] = date.fromisoformat(value).isoformat()
            except ValueError:
                fail("dueDate", Message("'%(value)s' is not a date like 2026-12-31", value=value))
        elif field in ("assignee_id", "company_id"):
            clean[field] = None if value is None else str(UUID(str(value)))
        else:
            fail(field, Message("unknown field %(field)s", field=field))
    if errors:
        raise DomainError(errors)
    return clean


class Activity(Aggregate):
    """Planned with a partner, assigned to a salesperson; done or cancelled at the end.
    It may name a company (`company_id`): the partner itself, the company the partner is
    a contact of, or one the partner is affiliated with; that company's 360° view shows it
    (app/domain/activity_company.py)."""

    company_id: str | None = None
    """Set on the instance only when a company is named: an activity that names none has
    the state it had before companies could be named (snapshots and stored states alike)."""

    class Scheduled(AuditedCreated):
        class_version = 2

        partner_id: str
        activity_type: str
        summary: str | None
        note: str | None
        due_date: str
        assignee_id: str | None
        company_id: str | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Planned before activities could name a company: none named."""
            state["company_id"] = None

    class Edited(AttributesChanged):
        """Summary, note or type edited."""

    class Rescheduled(AuditedEvent):
        due_date: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Activity)
            aggregate.due_date = self.due_date

    class Reassigned(AuditedEvent):
        assignee_id: str | None

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Activity)
            aggregate.assignee_id = self.assignee_id

    class Completed(AuditedEvent):
        feedback: str | None

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Activity)
            aggregate.status = DONE
            aggregate.feedback = self.feedback
            aggregate.done_at = self.timestamp

    class Cancelled(AuditedEvent):
        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Activity)
            aggregate.status = CANCELLED

    def __init__(
        self,
        partner_id: str,
        activity_type: str,
        summary: str | None,
        note: str | None,
        due_date: str,
        assignee_id: str | None,
        company_id: str | None,
    ) -> None:
        self.partner_id = partner_id
        if company_id is not None:
            self.company_id = company_id
        self.activity_type = activity_type
        self.summary = summary
        self.note = note
        self.due_date = due_date
        self.assignee_id = assignee_id
        self.status = OPEN
        self.feedback: str | None = None
        self.done_at: datetime | None = None

    @classmethod
    def schedule(
        cls,
        *,
        activity_id: UUID,
        partner_id: UUID,
        values: Mapping[str, Any],
        audit: Audit,
    ) -> Activity:
        clean = _validate(
            {
                "activity_type": "TODO",
                **{k: v for k, v in values.items() if v is not None},
                "due_date": values.get("due_date"),
            }
        )
        return cls._create(
            cls.Scheduled,
            id=activity_id,
            partner_id=str(partner_id),
            activity_type=clean["activity_type"],
            summary=clean.get("summary"),
            note=clean.get("note"),
            due_date=clean["due_date"],
            assignee_id=clean.get("assignee_id"),
            company_id=clean.get("company_id"),
            **audit.as_event_fields(),
        )

    def change(self, changes: Mapping[str, Any], audit: Audit) -> bool:
        """Edits, reschedules and reassigns: one event for each kind of change."""
        self._check_open()
        if "due_date" in changes and changes["due_date"] is None:
            raise DomainError.single(ErrorCode.VALIDATION, "dueDate cannot be cleared", "dueDate")
        if "activity_type" in changes and changes["activity_type"] is None:
            raise DomainError.single(
                ErrorCode.VALIDATION, "activityType cannot be cleared", "activityType"
            )
        if "company_id" in changes:
            raise DomainError.single(
                ErrorCode.VALIDATION, "companyId is named when planning only", "companyId"
            )
        clean = _validate(changes)
        diff = {k: v for k, v in clean.items() if getattr(self, k) != v}
        fields = audit.as_event_fields()
        edits = {k: v for k, v in diff.items() if k in ("summary", "note", "activity_type")}
        if edits:
            self.trigger_event(self.Edited, changes=edits, **fields)
        if "due_date" in diff:
            self.trigger_event(self.Rescheduled, due_date=diff["due_date"], **fields)
        if "assignee_id" in diff:
            self.trigger_event(self.Reassigned, assignee_id=diff["assignee_id"], **fields)
        return bool(diff)

    def complete(self, feedback: str | None, audit: Audit) -> None:
        self._check_open()
        text = feedback.strip() if feedback else None
        if text is not None and len(text) > MAX_NOTE:
            raise DomainError.single(ErrorCode.VALIDATION, "feedback is too long", "feedback")
        self.trigger_event(self.Completed, feedback=text or None, **audit.as_event_fields())

    def cancel(self, audit: Audit) -> None:
        self._check_open()
        self.trigger_event(self.Cancelled, **audit.as_event_fields())

    def _check_open(self) -> None:
        if self.status != OPEN:
            raise DomainError.single(
                ErrorCode.VALIDATION,
                Message("the activity is already %(value)s", value=self.status.lower()),
                "id",
            )

    class Moved(MovedToPartner):
        """A merge (or its undoing) moved its partner's side, the named company's side, or
        both (the partner is the company)."""

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Activity)
            named = aggregate.company_id == self.previous_partner_id
            if named:
                aggregate.company_id = self.partner_id
            if aggregate.partner_id == self.previous_partner_id or not named:
                aggregate.partner_id = self.partner_id
            take_carried(aggregate, self.carried)

    def belongs_to(self, partner_id: str) -> bool:
        """Whether a merge of `partner_id` moves it: its partner's, or the company's it names."""
        return partner_id in (self.partner_id, self.company_id)
