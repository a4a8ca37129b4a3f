"""Recording what changed: only the fields whose values differ, one event or none, and
the events that set the fields they carry (by attribute, or in a `values` dict), each
applied in one place. Each aggregate keeps its own event classes (their own topics),
subclasses of these."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, cast

from eventsourcing.domain import Aggregate

from app.domain.audited import Audit, AuditedEvent


def changed_fields(values: Mapping[str, Any], clean: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of `clean` whose values differ from those in `values`."""
    return {k: v for k, v in clean.items() if values.get(k) != v}


def trigger_if_any(
    aggregate: Aggregate, event_class: type[AuditedEvent], audit: Audit, **carried: Any
) -> bool:
    """Triggers `event_class` with what it carries (the changed fields, the tags added…) and
    the audit fields, unless it carries nothing: a command that changes nothing records
    nothing. Whether it triggered."""
    if not any(carried.values()):
        return False
    aggregate.trigger_event(event_class, **carried, **audit.as_event_fields())
    return True


class AttributesChanged(AuditedEvent):
    """Set some attributes of its aggregate: `changes`, by attribute name."""

    changes: dict[str, Any]

    def apply(self, aggregate: Aggregate) -> None:
        for key, value in self.changes.items():
            setattr(aggregate, key, value)


class _HasValues(Protocol):
    values: dict[str, Any]


class ValuesChanged(AuditedEvent):
    """Set some of the `values` of its aggregate: `changes`, by field name."""

    changes: dict[str, Any]

    def apply(self, aggregate: Aggregate) -> None:
        cast(_HasValues, aggregate).values.update(self.changes)
