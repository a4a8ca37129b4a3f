"""Commands on segments: saved filters."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from app.application.base import CommandBase, CommandResult
from app.domain.audited import Audit
from app.domain.segment import Segment


class SegmentCommands(CommandBase):
    """Segments are created, changed and deleted; their members are a query."""

    def create_segment(
        self, values: Mapping[str, Any], audit: Audit, idempotency_key: str | None = None
    ) -> CommandResult:
        request = {"values": values}
        segment_id, earlier = self._new_id("segment", idempotency_key, Segment, request)
        if earlier is not None:
            return earlier
        segment = Segment.create(segment_id=segment_id, values=values, audit=audit)
        return self._save_new(segment, idempotency_key, Segment, request=request)

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
        return self._update(Segment, segment_id, expected_version, lambda s: s.delete(audit))
