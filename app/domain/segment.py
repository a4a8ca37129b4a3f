"""Segments: saved partner filters (and a search) for campaigns and portfolios."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from app.domain.audited import Audit, AuditedCreated, AuditedEvent
from app.domain.changes import ValuesChanged, changed_fields, trigger_if_any
from app.domain.errors import DomainError, ErrorCode, FieldError
from app.domain.messages import Message
from app.domain.saved_text import PersonTexts, Resealable, ResealedEvent

MAX_FILTER_DEPTH = 8


def _depth(value: Any) -> int:
    if isinstance(value, Mapping):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return max((_depth(v) for v in value), default=0)
    return 0


def _validate(changes: Mapping[str, Any]) -> dict[str, Any]:
    errors: list[FieldError] = []
    clean: dict[str, Any] = {}
    for field, value in changes.items():
        if field == "name":
            name = value.strip() if isinstance(value, str) else ""
            if not name or len(name) > 200:
                errors.append(
                    FieldError(
                        ("name",), ErrorCode.VALIDATION, "a name of 1 to 200 characters is required"
                    )
                )
            clean[field] = name
        elif field == "description":
            text = value.strip() if isinstance(value, str) else None
            if text is not None and len(text) > 2000:
                errors.append(
                    FieldError(
                        ("description",),
                        ErrorCode.VALIDATION,
                        "description is longer than 2000 characters",
                    )
                )
            clean[field] = text or None
        elif field == "filter":
            if value is not None and (
                not isinstance(value, Mapping) or _depth(value) > MAX_FILTER_DEPTH
            ):
                errors.append(
                    FieldError(
                        ("filter",),
                        ErrorCode.VALIDATION,
                        Message(
                            "a filter nests at most %(max_filter_depth)s deep",
                            max_filter_depth=MAX_FILTER_DEPTH,
                        ),
                    )
                )
            clean[field] = dict(value) if value else None
        elif field == "search":
            text = value.strip() if isinstance(value, str) else None
            if text is not None and len(text) > 200:
                errors.append(
                    FieldError(
                        ("search",), ErrorCode.VALIDATION, "search is longer than 200 characters"
                    )
                )
            clean[field] = text or None
        else:
            errors.append(
                FieldError(
                    (field,), ErrorCode.VALIDATION, Message("unknown field %(field)s", field=field)
                )
            )
    if errors:
        raise DomainError(errors)
    return clean


class Segment(Resealable, Aggregate):
    class Created(AuditedCreated):
        values: dict[str, Any]

    class Updated(ValuesChanged):
        """Name, description, filter or search changed."""

    class Deleted(AuditedEvent):
        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Segment)
            aggregate.deleted = True

    class Resealed(ResealedEvent):
        """Name, description, filter and search with an erased person's values erased."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values: dict[str, Any] = {
            "name": None,
            "description": None,
            "filter": None,
            "search": None,
        } | values
        self.deleted = False

    @classmethod
    def create(cls, *, segment_id: UUID, values: Mapping[str, Any], audit: Audit) -> Segment:
        clean = _validate({"name": None} | {k: v for k, v in values.items() if v is not None})
        return cls._create(
            cls.Created,
            id=segment_id,
            values={k: v for k, v in clean.items() if v is not None},
            **audit.as_event_fields(),
        )

    def update(self, changes: Mapping[str, Any], audit: Audit) -> bool:
        self._check_exists()
        clean = _validate(changes)
        return trigger_if_any(self, self.Updated, audit, changes=changed_fields(self.values, clean))

    def delete(self, audit: Audit) -> None:
        self._check_exists()
        self.trigger_event(self.Deleted, **audit.as_event_fields())

    def reseal(self, person: PersonTexts, seal_key: UUID, audit: Audit) -> None:
        self.trigger_event(
            self.Resealed, **self.reseal_fields(person, seal_key), **audit.as_event_fields()
        )

    def _check_exists(self) -> None:
        if self.deleted:
            raise DomainError.single(ErrorCode.NOT_FOUND, "this segment was deleted", "id")
