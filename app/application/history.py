"""A partner's history and its state in the past, from its own events.

History is derived generically: the partner's events are replayed in order and the
aggregate's state (its `values` and its other public attributes such as `archived`) is
compared before and after each event, so every event type, including ones added later,
shows as the fields it changed. Blocking (eventsourcing): call it in the thread pool.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate

from app.application import Partnerbook
from app.domain.erasure import PERSONAL_FIELDS, erased_fields
from app.domain.partner import Partner

_EMPTY: tuple[Any, ...] = (None, [], ())


@dataclass(frozen=True)
class FieldDiff:
    field: str
    """The domain's field name (snake_case), e.g. `country_code`, `tag_ids`, `archived`."""
    old: Any
    new: Any
    erased: bool = False


@dataclass(frozen=True)
class PartnerChange:
    version: int
    occurred_at: datetime
    event_type: str
    actor: str | None
    request_id: str | None
    reason: str | None
    changes: list[FieldDiff]


@dataclass(frozen=True)
class HistoryPage:
    changes: list[PartnerChange]
    has_next_page: bool
    current_version: int


def state_of(partner: Aggregate | None) -> dict[str, Any]:
    """The comparable state of a partner: its values and its other public attributes."""
    if partner is None:
        return {}
    state: dict[str, Any] = {}
    for key, value in vars(partner).items():
        if key.startswith("_"):
            continue
        if key == "values" and isinstance(value, dict):
            state.update(copy.deepcopy(value))
        else:
            state[key] = copy.deepcopy(value)
    return state


def diff(
    before: dict[str, Any],
    after: dict[str, Any],
    erased: bool,
    erased_here: frozenset[str] = frozenset(),
) -> list[FieldDiff]:
    """The fields that changed; `erased_here` are the fields the event set to a value
    that was erased since (their key is gone: they replay as None, unchanged)."""
    changes = []
    for key in sorted({*before, *after, *erased_here}):
        old, new = before.get(key), after.get(key)
        if key in erased_here:
            changes.append(FieldDiff(key, None, None, True))
            continue
        if old == new or (key not in before and new in _EMPTY):
            continue
        if erased and key in PERSONAL_FIELDS:
            changes.append(FieldDiff(key, None, None, True))
        else:
            changes.append(FieldDiff(key, old, new))
    return changes


def _load(app: Partnerbook, partner_id: UUID, version: int | None = None) -> Partner | None:
    try:
        partner: Any = app.repository.get(partner_id, version=version)
    except AggregateNotFoundError:
        return None
    return partner if isinstance(partner, Partner) else None


def partner_history(
    app: Partnerbook, partner_id: UUID, *, after_version: int = 0, limit: int = 20
) -> HistoryPage | None:
    """Changes after `after_version`, oldest first, at most `limit`; None when there is
    no such partner. Starts from the state at `after_version` (snapshots make that cheap)."""
    current = _load(app, partner_id)
    if current is None:
        return None
    erased = bool(getattr(current, "anonymized", False))
    after_version = max(0, after_version)
    partner: Any = _load(app, partner_id, after_version) if after_version else None
    events: list[Any] = list(
        app.repository.event_store.get(partner_id, gt=after_version or None, limit=limit + 1)
    )
    result = []
    for event in events[:limit]:
        before = state_of(partner)
        partner = event.mutate(partner)
        result.append(
            PartnerChange(
                version=event.originator_version,
                occurred_at=event.timestamp,
                event_type=type(event).__name__,
                actor=getattr(event, "actor", None),
                request_id=getattr(event, "request_id", None),
                reason=getattr(event, "reason", None),
                changes=diff(before, state_of(partner), erased, erased_fields(event)),
            )
        )
    return HistoryPage(result, len(events) > limit, current.version)


def partner_at_version(app: Partnerbook, partner_id: UUID, version: int) -> Partner | None:
    """The partner as it was after its `version`-th event (snapshots used)."""
    if version < 1:
        return None
    return _load(app, partner_id, version)


def current_partner(app: Partnerbook, partner_id: UUID) -> Partner | None:
    """The partner at its latest version (snapshots used); None when there is none."""
    return _load(app, partner_id)


def current_version(app: Partnerbook, partner_id: UUID) -> int | None:
    partner = _load(app, partner_id)
    return partner.version if partner is not None else None
