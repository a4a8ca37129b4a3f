"""Affiliations: a person's place in a company other than (or besides) its main one
(`parent`): a board seat, a job at a group's subsidiary, a former employer.

An affiliation is its own aggregate, not events on the person: adding or ending one
never conflicts with an edit of the person or the company, and a merge moves it like an
activity (its own `Moved` event). Its role and function are personal data of the person:
they are encrypted with the person's key (app/domain/erasure.py, RELATED_TEXT_FIELDS)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from app.domain.audited import Audit, AuditedCreated, AuditedEvent
from app.domain.changes import ValuesChanged, changed_fields, trigger_if_any
from app.domain.errors import DomainError, ErrorCode, FieldError, validation
from app.domain.messages import Message
from app.domain.moved import take_carried

MAX_TEXT = 128
"""Characters of a role or a function."""
MAX_AFFILIATIONS = 50
"""Affiliations (current and ended) of one person, and people one request may list."""
FIELDS = ("role", "function", "start_date", "end_date")


def utc_today() -> str:
    """Today as the read side counts days (UTC), ISO."""
    return datetime.now(UTC).date().isoformat()


def _text(field: str, value: Any, errors: list[FieldError]) -> str | None:
    if value is None:
        return None
    text = " ".join(value.split()) if isinstance(value, str) else ""
    if not text or len(text) > MAX_TEXT or not text.isprintable():
        message = Message(
            "%(field)s is 1 to %(max)s printable characters", field=field, max=MAX_TEXT
        )
        errors.append(FieldError((field,), ErrorCode.VALIDATION, message))
    return text or None


def _date(field: str, value: Any, errors: list[FieldError]) -> str | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        message = Message("%(field)s is a date", field=field)
        errors.append(FieldError((field,), ErrorCode.VALIDATION, message))
        return None


def clean_values(changes: Mapping[str, Any]) -> dict[str, Any]:
    """The values as they are recorded: texts trimmed, dates ISO; VALIDATION otherwise."""
    errors: list[FieldError] = []
    clean: dict[str, Any] = {}
    for field, value in changes.items():
        if field in ("role", "function"):
            clean[field] = _text(field, value, errors)
        elif field in ("start_date", "end_date"):
            clean[field] = _date(field.replace("_d", "D"), value, errors)
        else:
            message = Message("unknown field %(field)s", field=field)
            errors.append(FieldError((field,), ErrorCode.VALIDATION, message))
    if errors:
        raise DomainError(errors)
    return clean


def _check_period(values: Mapping[str, Any]) -> None:
    start, end = values.get("start_date"), values.get("end_date")
    if start and end and end < start:
        raise validation("endDate is on or after startDate", "endDate")


class Affiliation(Aggregate):
    """A person (`partner_id`, whose key encrypts it) in a company (`company_id`)."""

    class Created(AuditedCreated):
        partner_id: str
        company_id: str
        values: dict[str, Any]

    class Updated(ValuesChanged):
        """Role, function or dates changed."""

    class Ended(AuditedEvent):
        """No longer current: kept, with the date it ended."""

        end_date: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Affiliation)
            aggregate.values["end_date"] = self.end_date

    class Moved(AuditedEvent):
        """A merge (or its undoing) moved the person's or the company's side."""

        partner_id: str
        previous_partner_id: str
        merge_id: str
        carried: dict[str, Any] | None = None
        """Its role and function when it moved (app/domain/moved.py)."""

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Affiliation)
            if aggregate.company_id == self.previous_partner_id:
                aggregate.company_id = self.partner_id
            else:
                aggregate.partner_id = self.partner_id
            take_carried(aggregate, self.carried)

    def __init__(self, partner_id: str, company_id: str, values: dict[str, Any]) -> None:
        self.partner_id = partner_id
        self.company_id = company_id
        self.values: dict[str, Any] = dict.fromkeys(FIELDS) | values

    @classmethod
    def create(
        cls,
        *,
        affiliation_id: UUID,
        person_id: UUID,
        company_id: UUID,
        values: Mapping[str, Any],
        audit: Audit,
    ) -> Affiliation:
        clean = clean_values({k: v for k, v in values.items() if v is not None})
        _check_period(clean)
        return cls._create(
            cls.Created,
            id=affiliation_id,
            partner_id=str(person_id),
            company_id=str(company_id),
            values=clean,
            **audit.as_event_fields(),
        )

    def belongs_to(self, partner_id: str) -> bool:
        return partner_id in (self.partner_id, self.company_id)

    def in_force_on(self, day: str) -> bool:
        """Started by `day` (or no start date) and not ended (its end date is the first
        day it no longer holds)."""
        start, end = self.values.get("start_date"), self.values.get("end_date")
        return (start is None or start <= day) and (end is None or day < end)

    @property
    def ended(self) -> bool:
        end = self.values.get("end_date")
        return end is not None and end <= utc_today()  # the first day without

    def update(self, changes: Mapping[str, Any], audit: Audit) -> bool:
        clean = clean_values(changes)
        _check_period(self.values | clean)
        return trigger_if_any(self, self.Updated, audit, changes=changed_fields(self.values, clean))

    def end(self, end_date: str | None, audit: Audit) -> None:
        if self.ended:
            raise validation("the affiliation has already ended", "id")
        when = clean_values({"end_date": end_date or utc_today()})["end_date"]
        _check_period(self.values | {"end_date": when})
        self.trigger_event(self.Ended, end_date=when, **audit.as_event_fields())
