"""Commands that record changes to API keys as events (the keys' table is changed by
app/infra/key_admin.py, in the transaction these events are saved within)."""

from __future__ import annotations

from uuid import UUID

from app.application.base import CommandBase, CommandResult
from app.domain.api_key import ApiKey
from app.domain.audited import Audit


class ApiKeyCommands(CommandBase):
    """Key creations and revocations, audited with the admin key that made them."""

    def record_key_created(
        self, key_id: UUID, name: str, role: str, expires_at: str | None, audit: Audit
    ) -> CommandResult:
        key = ApiKey.create(key_id=key_id, name=name, role=role, expires_at=expires_at, audit=audit)
        recordings = self._save(key)
        return CommandResult(key.id, key.version, recordings[-1].notification.id)

    def record_key_revoked(self, key_id: UUID, name: str, role: str, audit: Audit) -> CommandResult:
        """A key made on the command line has no `Created` event: its first is made here."""
        key = self._find(key_id, ApiKey)
        if key is None:
            key = ApiKey.adopt(key_id=key_id, name=name, role=role, audit=audit)
        elif key.revoked:
            return CommandResult(key.id, key.version, None)
        key.revoke(audit)
        recordings = self._save(key)
        return CommandResult(key.id, key.version, recordings[-1].notification.id)
