"""What the commands on settings (segments, webhook endpoints) share: their saved text
is sealed with a key of their own (app/domain/saved_text.py), erased with them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar
from uuid import UUID

from app.application.base import CommandBase, CommandResult
from app.domain.audited import Audit
from app.domain.segment import Segment
from app.domain.webhook import WebhookEndpoint

SettingT = TypeVar("SettingT", Segment, WebhookEndpoint)


class SettingCommands(CommandBase):
    def _shred(self, owners: Iterable[UUID]) -> None:
        """Erases the data keys of text no longer to be read (a deleted segment's):
        ErasureCommands holds the keys; without them, nothing to do."""

    def _delete_setting(
        self, cls: type[SettingT], setting_id: UUID, audit: Audit, expected_version: int | None
    ) -> CommandResult:
        """Deletes a segment or webhook endpoint, then erases the key of its saved text:
        its history no longer reads."""
        keys: list[UUID] = []

        def delete(setting: SettingT) -> None:
            setting.delete(audit)
            keys.append(setting.key_owner)

        result = self._update(cls, setting_id, expected_version, delete)
        self._shred(keys[-1:])
        return result
