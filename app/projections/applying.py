"""How each projection applies a batch of the log inside the projector's transaction
(app/projections/projector.py): the registry's read models from decoded events, the
audit chain from the stored notifications; each records its position with the batch and
announces it with NOTIFY."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper, Notification, Tracking
from eventsourcing.projection import Projection
from psycopg import Cursor
from psycopg.rows import DictRow

from app.infra.positions import PROJECTED_CHANNEL
from app.projections.audit import AuditView
from app.projections.registry import RegistryView


class RegistryProjection(Projection[RegistryView]):
    """eventsourcing's projection interface over the registry view, plus batches."""

    name = "registry"

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        self.process_batch([(domain_event, tracking)])

    def process_batch(self, items: Sequence[tuple[DomainEventProtocol[Any], Tracking]]) -> None:
        if not items:
            return
        with self.view.datastore.transaction(commit=True) as curs:
            self.apply_items(curs, items)

    def process_in(
        self,
        curs: Cursor[DictRow],
        notifications: Sequence[Notification],
        mapper: Mapper[Any],
        events: Sequence[Any] | None = None,
    ) -> None:
        """Applies a batch inside the caller's transaction (the projector's); `events`
        are the notifications already decoded (read_ahead.py), if they are."""
        app_name = self.app_name
        decoded = events if events is not None else map(mapper.to_domain_event, notifications)
        self.apply_items(
            curs,
            [(e, Tracking(app_name, n.id)) for e, n in zip(decoded, notifications, strict=True)],
        )

    app_name = "Partnerbook"

    def apply_items(
        self, curs: Cursor[DictRow], items: Sequence[tuple[DomainEventProtocol[Any], Tracking]]
    ) -> None:
        last = items[-1][1]
        if len(items) > 1:
            # No JIT compilation: the statements over a batch's rows, estimated costly
            # before the tables have statistics, were compiled each time (~100 ms a
            # batch at PostgreSQL 15's defaults, for statements of tens of ms). One
            # event's statements never reach its threshold.
            curs.execute("SET LOCAL jit = off")
        self.view.apply_batch(
            curs, [(event, tracking.notification_id) for event, tracking in items]
        )
        _record_position(curs, self.view, self.name, last)


class AuditProjection:
    """The chain hash and the partner-version index (see app/projections/audit.py); it
    works on the stored notifications themselves, not on decoded events."""

    name = "audit"
    app_name = "Partnerbook"

    def __init__(self, view: AuditView) -> None:
        self.view = view

    def process_in(
        self,
        curs: Cursor[DictRow],
        notifications: Sequence[Notification],
        mapper: Mapper[Any],
        events: Sequence[Any] | None = None,
    ) -> None:
        self.view.apply_notifications(curs, notifications, mapper)
        _record_position(curs, self.view, self.name, Tracking(self.app_name, notifications[-1].id))


def _record_position(
    curs: Cursor[DictRow], view: RegistryView | AuditView, name: str, last: Tracking
) -> None:
    """Records the position a batch reached, in the batch's transaction, and announces it
    (NOTIFY: mutations waiting for it wake at once)."""
    view._insert_tracking(curs, last)
    curs.execute("SELECT pg_notify(%s, %s)", (PROJECTED_CHANNEL, f"{name}:{last.notification_id}"))


AnyProjection = RegistryProjection | AuditProjection
