"""Opportunities: a chance of business with a partner, moved through stages to won/lost."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from app.domain.audited import Audit, AuditedCreated, AuditedEvent
from app.domain.catalog import Invalid, normalize_money
from app.domain.changes import ValuesChanged, changed_fields, trigger_if_any
from app.domain.errors import DomainError, ErrorCode, FieldError
from app.domain.messages import Message
from app.domain.moved import MovedToPartner

STAGES = ("NEW", "QUALIFIED", "PROPOSITION", "WON", "LOST")
OPEN_STAGES = ("NEW", "QUALIFIED", "PROPOSITION")


def _validate(changes: Mapping[str, Any]) -> dict[str, Any]:
    errors: list[FieldError] = []
    clean: dict[str, Any] = {}
    for field, value in changes.items():
        if field == "name":
            text = value.strip() if isinstance(value, str) else ""
            if not text or len(text) > 300:
                errors.append(
                    FieldError(
                        ("name",), ErrorCode.VALIDATION, "a name of 1 to 300 characters is required"
                    )
                )
            clean[field] = text
        elif field == "expected_revenue":
            try:
                clean[field] = normalize_money(value)
            except Invalid as error:
                errors.append(
                    FieldError(
                        ("expectedRevenue",),
                        ErrorCode.VALIDATION,
                        Message("expectedRevenue %(error)s", error=error),
                    )
                )
        elif field == "probability":
            if value is not None and (not isinstance(value, int | float) or not 0 <= value <= 100):
                errors.append(
                    FieldError(("probability",), ErrorCode.VALIDATION, "probability is 0 to 100")
                )
            clean[field] = value
        elif field == "stage":
            if value not in OPEN_STAGES:
                errors.append(
                    FieldError(
                        ("stage",),
                        ErrorCode.VALIDATION,
                        Message(
                            "stage is one of %(open_stages)s; use markOpportunityWon/Lost",
                            open_stages=OPEN_STAGES,
                        ),
                    )
                )
            clean[field] = value
        elif field == "salesperson_id":
            clean[field] = None if value is None else str(UUID(str(value)))
        else:
            errors.append(
                FieldError(
                    (field,), ErrorCode.VALIDATION, Message("unknown field %(field)s", field=field)
                )
            )
    if errors:
        raise DomainError(errors)
    return clean


class Opportunity(Aggregate):
    class Created(AuditedCreated):
        partner_id: str
        values: dict[str, Any]

    class Updated(ValuesChanged):
        """Name, revenue, probability, stage or salesperson changed."""

    class Won(AuditedEvent):
        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Opportunity)
            aggregate.values["stage"] = "WON"
            aggregate.values["probability"] = 100

    class Lost(AuditedEvent):
        lost_reason: str | None

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Opportunity)
            aggregate.values["stage"] = "LOST"
            aggregate.values["probability"] = 0
            aggregate.values["lost_reason"] = self.lost_reason

    def __init__(self, partner_id: str, values: dict[str, Any]) -> None:
        self.partner_id = partner_id
        self.values: dict[str, Any] = {
            "name": None,
            "expected_revenue": None,
            "probability": None,
            "stage": "NEW",
            "salesperson_id": None,
            "lost_reason": None,
        } | values

    @classmethod
    def create(
        cls, *, opportunity_id: UUID, partner_id: UUID, values: Mapping[str, Any], audit: Audit
    ) -> Opportunity:
        clean = _validate(
            {"stage": "NEW", "name": None} | {k: v for k, v in values.items() if v is not None}
        )
        return cls._create(
            cls.Created,
            id=opportunity_id,
            partner_id=str(partner_id),
            values={k: v for k, v in clean.items() if v is not None},
            **audit.as_event_fields(),
        )

    @property
    def stage(self) -> str:
        return str(self.values["stage"])

    @property
    def salesperson_id(self) -> str | None:
        value = self.values.get("salesperson_id")
        return str(value) if value else None

    def update(self, changes: Mapping[str, Any], audit: Audit) -> bool:
        self._check_open()
        if "name" in changes and changes["name"] is None:
            raise DomainError.single(ErrorCode.VALIDATION, "name cannot be cleared", "name")
        clean = _validate(changes)
        return trigger_if_any(self, self.Updated, audit, changes=changed_fields(self.values, clean))

    def mark_won(self, audit: Audit) -> None:
        self._check_open()
        self.trigger_event(self.Won, **audit.as_event_fields())

    def mark_lost(self, lost_reason: str | None, audit: Audit) -> None:
        self._check_open()
        text = (lost_reason or "").strip() or None
        self.trigger_event(self.Lost, lost_reason=text, **audit.as_event_fields())

    def _check_open(self) -> None:
        if self.stage not in OPEN_STAGES:
            raise DomainError.single(
                ErrorCode.VALIDATION,
                Message("the opportunity is already %(value)s", value=self.stage.lower()),
                "id",
            )

    class Moved(MovedToPartner):
        """Now belongs to another partner: a merge (or its undoing) moved it."""
