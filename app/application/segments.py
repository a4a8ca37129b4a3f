"""Commands on segments: saved filters."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from app.application.base import CommandResult
from app.application.setting_commands import SettingCommands
from app.domain.audited import Audit
from app.domain.segment import Segment


class SegmentCommands(SettingCommands):
    """Segments are created, changed and deleted; their members are a query."""

    def create_segment(
        self, values: Mapping[str, Any], audit: Audit, idempotency_key: str | None = None
    ) -> CommandResult:
        def create(segment_id: UUID) -> list[Aggregate]:
            return [Segment.create(segment_id=segment_id, values=values, audit=audit)]

        return self._create("segment", Segment, idempotency_key, {"values": values}, create)

    def update_segment(
        self,
        segment_id: UUID,
        changes: Mapping[str, Any],
        audit: Audit,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._update(
            Segment, segment_id, expected_version, lambda s: s.update(changes, audit)
        )

    def delete_segment(
        self, segment_id: UUID, audit: Audit, expected_version: int | None = None
    ) -> CommandResult:
        return self._delete_setting(Segment, segment_id, audit, expected_version)
