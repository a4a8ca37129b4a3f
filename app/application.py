"""The write side: one method per command; each returns ids, version and the position
of its last recorded event (None when the command changed nothing)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError

from app.domain.errors import DomainError, conflict, not_found
from app.domain.partner import Audit, Partner

IDEMPOTENCY_NAMESPACE = uuid5(NAMESPACE_URL, "https://partnerbook.dev/idempotency")
MAX_HIERARCHY_DEPTH = 64
MAX_RETRIES = 5


@dataclass(frozen=True)
class CommandResult:
    id: UUID
    version: int
    position: int | None
    """Notification id of the last event recorded; None when nothing was recorded."""


class Partnerbook(Application[UUID]):
    """The event-sourced application: aggregates in, events out, one transaction a command."""

    name = "partnerbook"
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {Partner: 100}

    # -- partners -----------------------------------------------------------------------

    def create_partner(
        self,
        kind: str,
        values: Mapping[str, Any],
        audit: Audit,
        idempotency_key: str | None = None,
    ) -> CommandResult:
        partner_id = (
            uuid5(IDEMPOTENCY_NAMESPACE, f"partner:{idempotency_key}")
            if (idempotency_key)
            else uuid4()
        )
        if idempotency_key:
            existing = self._find_partner(partner_id)
            if existing is not None:
                return CommandResult(existing.id, existing.version, None)
        parent_id = values.get("parent_id")
        parent, ancestry = self._parent_and_ancestry(parent_id) if parent_id else (None, [])
        partner = Partner.register(
            partner_id=partner_id,
            kind=kind,
            values=values,
            audit=audit,
            parent=parent,
            parent_ancestry=ancestry,
        )
        try:
            recordings = self.save(partner)
        except IntegrityError:
            if idempotency_key:  # the same request raced us: its result is ours
                winner = self._get_partner(partner_id)
                return CommandResult(winner.id, winner.version, None)
            raise
        return CommandResult(partner.id, partner.version, recordings[-1].notification.id)

    def update_partner(
        self,
        partner_id: UUID,
        changes: Mapping[str, Any],
        audit: Audit,
        expected_version: int | None = None,
    ) -> CommandResult:
        def change(partner: Partner) -> bool:
            if "parent_id" in changes:
                new_parent = changes["parent_id"]
                parent, ancestry = (
                    self._parent_and_ancestry(new_parent) if new_parent else (None, [])
                )
            else:
                parent, ancestry = (
                    self._parent_and_ancestry(partner.parent_id)
                    if partner.parent_id
                    else (None, [])
                )
            return partner.update(changes, audit, parent=parent, parent_ancestry=ancestry)

        return self._change_partner(partner_id, expected_version, change)

    def archive_partner(
        self, partner_id: UUID, audit: Audit, expected_version: int | None = None
    ) -> CommandResult:
        return self._change_partner(partner_id, expected_version, lambda p: p.archive(audit))

    def restore_partner(
        self, partner_id: UUID, audit: Audit, expected_version: int | None = None
    ) -> CommandResult:
        return self._change_partner(partner_id, expected_version, lambda p: p.restore(audit))

    # -- helpers ------------------------------------------------------------------------

    def _change_partner(
        self,
        partner_id: UUID,
        expected_version: int | None,
        change: Callable[[Partner], bool],
    ) -> CommandResult:
        """Loads, changes and saves; a concurrent writer makes it retry, unless the
        client named the version it expected, which then is a CONFLICT."""
        for _ in range(MAX_RETRIES):
            partner = self._get_partner(partner_id)
            if expected_version is not None and partner.version != expected_version:
                raise conflict(
                    f"the partner is at version {partner.version}, not {expected_version}",
                    "expectedVersion",
                )
            if not change(partner):
                return CommandResult(partner.id, partner.version, None)
            try:
                recordings = self.save(partner)
            except IntegrityError:
                if expected_version is not None:
                    raise conflict(
                        "the partner was changed by someone else at the same time",
                        "expectedVersion",
                    ) from None
                continue
            return CommandResult(partner.id, partner.version, recordings[-1].notification.id)
        raise conflict("the partner is being changed by others; try again", "id")

    def _find_partner(self, partner_id: UUID) -> Partner | None:
        try:
            partner: object = self.repository.get(partner_id)
        except AggregateNotFoundError:
            return None
        return partner if isinstance(partner, Partner) else None

    def _get_partner(self, partner_id: UUID) -> Partner:
        partner = self._find_partner(partner_id)
        if partner is None:
            raise not_found("no partner with this id", "id")
        return partner

    def _parent_and_ancestry(self, parent_id: Any) -> tuple[Partner, list[UUID]]:
        """The would-be parent and the ids above it, to refuse cycles."""
        try:
            parent = self._find_partner(UUID(str(parent_id)))
        except ValueError:
            parent = None
        if parent is None:
            raise not_found("the parent partner does not exist", "parentId")
        ancestry: list[UUID] = []
        current = parent
        while current.parent_id is not None and len(ancestry) < MAX_HIERARCHY_DEPTH:
            ancestry.append(current.parent_id)
            above = self._find_partner(current.parent_id)
            if above is None:
                break
            current = above
        return parent, ancestry


__all__ = ["Audit", "CommandResult", "DomainError", "Partnerbook"]
