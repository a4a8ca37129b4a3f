"""The audit trail of API keys: who created or revoked which key, and when.

The keys themselves live in the `api_keys` table (app/infra/api_keys.py), which the server
reads on every request; these events are the record of the changes made through the API,
with the admin key that made them as the actor. They hold no secret and no digest."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate

from app.domain.audited import Audit, AuditedCreated, AuditedEvent


class ApiKey(Aggregate):
    """One API key's life as far as the API changed it: created, then maybe revoked."""

    class Created(AuditedCreated):
        name: str
        role: str
        expires_at: str | None

    class Adopted(AuditedCreated):
        """A key made on the command line (which records no event), first changed
        through the API: the actor is the admin changing it, not its creator."""

        name: str
        role: str
        expires_at: str | None

    class Revoked(AuditedEvent):
        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, ApiKey)
            aggregate.revoked = True

    def __init__(self, name: str, role: str, expires_at: str | None) -> None:
        self.name = name
        self.role = role
        self.expires_at = expires_at
        self.revoked = False

    @classmethod
    def create(
        cls, *, key_id: UUID, name: str, role: str, expires_at: str | None, audit: Audit
    ) -> ApiKey:
        return cls._create(
            cls.Created,
            id=key_id,
            name=name,
            role=role,
            expires_at=expires_at,
            **audit.as_event_fields(),
        )

    @classmethod
    def adopt(cls, *, key_id: UUID, name: str, role: str, audit: Audit) -> ApiKey:
        return cls._create(
            cls.Adopted, id=key_id, name=name, role=role, expires_at=None, **audit.as_event_fields()
        )

    def revoke(self, audit: Audit) -> bool:
        if self.revoked:
            return False
        self.trigger_event(self.Revoked, **audit.as_event_fields())
        return True
