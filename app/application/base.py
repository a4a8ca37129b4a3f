"""The machinery every command shares: ids, loading, saving with optimistic concurrency,
uniqueness reservations and reference checks."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import ApplicationRecorder, IntegrityError, Recording
from eventsourcing.postgres import PostgresFactory
from eventsourcing.utils import EnvType, get_topic

from app.application.claims import claims
from app.application.group_commit import GroupCommit
from app.domain.audited import check_idempotency_key
from app.domain.catalog import CatalogEntry
from app.domain.errors import (
    DomainError,
    ErrorCode,
    FieldError,
    archived,
    conflict,
    not_found,
    validation,
)
from app.domain.hierarchy import HierarchyGuard, hierarchy_id
from app.domain.idempotency import IdempotencyRecord, input_digest, record_id, same_input
from app.domain.messages import Message
from app.domain.partner import Partner
from app.domain.partner_fields import input_name
from app.domain.reservation import Reservation
from app.domain.tag import Tag
from app.infra import saving
from app.infra.pool_check import check_lazily
from app.infra.recorder import ArrayRecorder, recorded_earlier
from app.infra.shredding.secret import installation_secret

log = logging.getLogger(__name__)
IDEMPOTENCY_NAMESPACE = uuid5(NAMESPACE_URL, "https://partnerbook.dev/idempotency")
MAX_HIERARCHY_DEPTH = 64
MAX_RETRIES = 5
AggregateT = TypeVar("AggregateT", bound=Aggregate)


@dataclass(frozen=True)
class CommandResult:
    id: UUID
    version: int
    position: int | None
    """Notification id of the last event recorded; None when nothing was recorded."""


Change = Callable[[Any], Sequence[Aggregate]]
"""Changes a loaded aggregate; returns what to save (empty when nothing changed)."""


class CommandBase(Application[UUID]):
    """What the command groups build on; `Partnerbook` is all of them together."""

    group_commit = True
    """Concurrent commands share transactions (see group_commit.py)."""

    def __init__(self, env: EnvType | None = None) -> None:
        super().__init__(env)
        self._group = GroupCommit(self._write)
        factory = self.factory
        if isinstance(factory, PostgresFactory):
            # POSTGRES_PRE_PING checks each connection handed out with a round trip: two
            # per aggregate loaded, ~0.25 ms of a ~0.8 ms load. Checked when idle instead.
            check_lazily(factory.datastore.pool)
        self._secret: bytes | None = None
        self._secret_lock = threading.Lock()

    @property
    def idempotency_secret(self) -> bytes:
        """The installation's key for idempotency digests (read once per process)."""
        with self._secret_lock:
            if self._secret is None:
                factory = self.factory
                self._secret = (
                    installation_secret(factory.datastore, "idempotency")
                    if isinstance(factory, PostgresFactory)
                    else os.urandom(32)  # an in-memory store lives no longer than this
                )
            return self._secret

    def construct_recorder(self) -> ApplicationRecorder:
        """PostgreSQL's recorder sends batches as arrays in binary (app/infra/recorder.py), unless
        the environment names another recorder."""
        factory = self.factory
        topic_key = PostgresFactory.APPLICATION_RECORDER_TOPIC
        if isinstance(factory, PostgresFactory) and not self.env.get(topic_key):
            self.env[topic_key] = get_topic(ArrayRecorder)
        return super().construct_recorder()

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[UUID]]:
        """`Application.save`, collecting the events faster (app/infra/saving.py)."""
        return saving.save(self, *objs, **kwargs)

    def _save(self, *aggregates: Aggregate) -> list[Recording[UUID]]:
        if self.group_commit:
            return self._group.save(*aggregates)
        return self.save(*aggregates)

    def _write(self, events: ProcessingEvent[UUID]) -> list[Recording[UUID]]:
        """What Application.save does once its events are collected."""
        try:
            recordings = saving.record(self, events)
        except IntegrityError:
            earlier = recorded_earlier(self.recorder, self.mapper, events)
            if earlier is None:
                raise
            log.warning(
                "a write whose commit was not confirmed (connection lost) had been recorded; "
                "its retry was refused as a duplicate: taken as recorded"
            )
            recordings = earlier
        saving.after_recording(self, events, recordings)
        return recordings

    def _active_partner(self, partner_id: UUID) -> Partner:
        partner = self._get(partner_id, Partner, "partnerId")
        if partner.archived:
            raise archived("the partner is archived", "partnerId")
        return partner

    def _new_id(
        self,
        kind: str,
        idempotency_key: str | None,
        cls: type[Aggregate],
        request: Mapping[str, Any] | None = None,
    ) -> tuple[UUID, CommandResult | None]:
        """A fresh id; or, for an idempotency key, the same id every time, with the result
        of the earlier request when there was one (then nothing new is recorded). A key
        used before with a different `request` (the command's input) is a VALIDATION error."""
        check_idempotency_key(idempotency_key)
        if not idempotency_key:
            return uuid4(), None
        new_id = uuid5(IDEMPOTENCY_NAMESPACE, f"{kind}:{idempotency_key}")
        existing = self._find(new_id, cls)
        if existing is None:
            return new_id, None
        if not getattr(existing, "anonymized", False):
            self._check_same_request(new_id, request)
        return new_id, CommandResult(existing.id, existing.version, self._head())

    def _head(self) -> int | None:
        """The position the store has reached: a repeat's answer waits for it, as it
        covers the first request's events (read with the record, so committed). Without
        it the answer read a read model that may not have them yet: a null record."""
        return self.recorder.max_notification_id()

    def _check_same_request(self, aggregate_id: UUID, request: Mapping[str, Any] | None) -> None:
        """Records created before digests were kept (no record) pass unchecked, and so do
        the records of an erased person (digest erased with the key): whatever the input,
        a repeat gets the same answer, which tells nothing about the erased values."""
        if request is None:
            return
        record = self._find(record_id(aggregate_id), IdempotencyRecord)
        if record is None or record.digest is None:
            return
        if not same_input(record.digest, request, self.idempotency_secret):
            raise validation(
                "this idempotency key was already used for a request with a different input",
                "idempotencyKey",
            )

    def _create(
        self,
        kind: str,
        cls: type[Aggregate],
        idempotency_key: str | None,
        request: Mapping[str, Any],
        build: Callable[[UUID], Sequence[Aggregate]],
    ) -> CommandResult:
        """Creates a record: its id (for a repeated idempotency key, the earlier request's
        result instead, and nothing is built), then `build(id)` checks what the record
        refers to and returns it, followed by what is saved with it (its reservations)."""
        new_id, earlier = self._new_id(kind, idempotency_key, cls, request)
        if earlier is not None:
            return earlier
        aggregate, *others = build(new_id)
        return self._save_new(aggregate, idempotency_key, cls, *others, request=request)

    def _save_new(
        self,
        aggregate: Aggregate,
        idempotency_key: str | None,
        cls: type[Aggregate],
        *others: Aggregate,
        request: Mapping[str, Any] | None = None,
    ) -> CommandResult:
        """Saves a new aggregate; with a key and a `request`, its idempotency record (the
        digest of the input) goes into the same transaction."""
        if idempotency_key and request is not None:
            others = (
                *others,
                IdempotencyRecord(
                    str(aggregate.id),
                    type(aggregate).__name__,
                    input_digest(request, self.idempotency_secret),
                ),
            )
        try:
            recordings = self._save(aggregate, *others)
        except IntegrityError:
            if idempotency_key and (winner := self._find(aggregate.id, cls)) is not None:
                self._check_same_request(aggregate.id, request)
                # The same request raced us: its answer, once the projection has it.
                return CommandResult(winner.id, winner.version, self._head())
            if others:
                raise _duplicate_from_race() from None
            raise
        return CommandResult(aggregate.id, aggregate.version, recordings[-1].notification.id)

    def _change(
        self,
        cls: type[AggregateT],
        aggregate_id: UUID,
        expected_version: int | None,
        change: Callable[[AggregateT], Sequence[Aggregate]],
    ) -> CommandResult:
        """Loads, changes and saves; a concurrent writer makes it retry, unless the
        client named the version it expected, which then is a CONFLICT."""
        for _ in range(MAX_RETRIES):
            aggregate = self._get(aggregate_id, cls)
            if expected_version is not None and aggregate.version != expected_version:
                raise conflict(
                    Message(
                        "the record is at version %(version)s, not %(expected_version)s",
                        version=aggregate.version,
                        expected_version=expected_version,
                    ),
                    "expectedVersion",
                )
            to_save = change(aggregate)
            if not to_save:
                return CommandResult(aggregate.id, aggregate.version, None)
            try:
                recordings = self._save(*to_save)
            except IntegrityError:
                # Another writer saved first: this record (refused when a version was
                # expected), or only what is saved with it (a guard, a tally): again.
                if expected_version is not None and (
                    self._get(aggregate_id, cls).version != expected_version
                ):
                    raise conflict(
                        "the record was changed by someone else at the same time",
                        "expectedVersion",
                    ) from None
                continue
            return CommandResult(aggregate.id, aggregate.version, recordings[-1].notification.id)
        raise conflict("the record is being changed by others; try again", "id")

    def _update(
        self,
        cls: type[AggregateT],
        aggregate_id: UUID,
        expected_version: int | None,
        command: Callable[[AggregateT], bool | None],
    ) -> CommandResult:
        """`_change` for a command that changes only the aggregate it loads: saved, unless
        the command returned False (it changed nothing; None: it always records)."""
        return self._change(
            cls, aggregate_id, expected_version, lambda a: [] if command(a) is False else [a]
        )

    def _find(self, aggregate_id: UUID, cls: type[AggregateT]) -> AggregateT | None:
        try:
            aggregate: object = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        return aggregate if isinstance(aggregate, cls) else None

    def _get(self, aggregate_id: UUID, cls: type[AggregateT], field: str = "id") -> AggregateT:
        aggregate = self._find(aggregate_id, cls)
        if aggregate is None:
            raise not_found(Message("no %(value)s with this id", value=cls.__name__.lower()), field)
        return aggregate

    def _hierarchy_guard(self, name: str) -> HierarchyGuard:
        """The guard a move in hierarchy `name` is saved with (app/domain/hierarchy.py):
        loaded before the ancestry the move is checked against is read."""
        return self._find(hierarchy_id(name), HierarchyGuard) or HierarchyGuard(name)

    def _get_partner(self, partner_id: UUID) -> Partner:
        return self._get(partner_id, Partner)

    def _claims(
        self, owner_id: UUID, keys: Iterable[str], previous: Iterable[str]
    ) -> list[Aggregate]:
        """Reservations to save with the owner: new keys claimed, old keys released."""
        return claims(
            lambda rid: self._find(rid, Reservation),
            self.idempotency_secret,
            owner_id,
            keys,
            previous,
        )

    def _parent_and_ancestry(self, parent_id: Any) -> tuple[Partner, list[UUID]]:
        """The would-be parent and the ids above it, to refuse cycles."""
        try:
            parent = self._find(UUID(str(parent_id)), Partner)
        except ValueError:
            parent = None
        if parent is None:
            raise not_found("the parent partner does not exist", "parentId")
        ancestry: list[UUID] = []
        current = parent
        while current.parent_id is not None and len(ancestry) < MAX_HIERARCHY_DEPTH:
            ancestry.append(current.parent_id)
            above = self._find(current.parent_id, Partner)
            if above is None:
                break
            current = above
        return parent, ancestry

    def _tag_ancestry(self, tag: Tag) -> list[UUID]:
        ancestry: list[UUID] = []
        current: Tag | None = tag
        while current is not None and current.parent_id and len(ancestry) < MAX_HIERARCHY_DEPTH:
            ancestry.append(UUID(current.parent_id))
            current = self._find(UUID(current.parent_id), Tag)
        return ancestry

    def _check_partner_references(self, values: Mapping[str, Any]) -> None:
        refs = {
            f: (values[f], catalog)
            for f, catalog in (("industry_id", "INDUSTRY"), ("salesperson_id", "SALESPERSON"))
            if values.get(f)
        }
        self._check_catalog_references(refs)
        if values.get("tag_ids"):
            self._check_tags(values["tag_ids"])

    def _check_catalog_references(self, refs: Mapping[str, tuple[Any, str]]) -> None:
        """Newly assigned entries must exist in the right catalog and not be archived."""
        errors: list[FieldError] = []
        for field, (value, catalog) in refs.items():
            if value is None:
                continue
            entry = _try_uuid(value) and self._find(UUID(str(value)), CatalogEntry)
            if not entry or entry.catalog != catalog:
                errors.append(
                    FieldError(
                        (input_name(field),),
                        ErrorCode.NOT_FOUND,
                        Message(
                            "no %(value)s with this id", value=catalog.lower().replace("_", " ")
                        ),
                    )
                )
            elif entry.archived:
                errors.append(
                    FieldError(
                        (input_name(field),),
                        ErrorCode.ARCHIVED,
                        Message(
                            "%(name)r is archived and cannot be newly assigned", name=entry.name
                        ),
                    )
                )
        if errors:
            raise DomainError(errors)

    def _check_tags(self, tag_ids: Iterable[Any]) -> None:
        for tag_id in tag_ids:
            tag = _try_uuid(tag_id) and self._find(UUID(str(tag_id)), Tag)
            if not tag:
                raise not_found(Message("no tag with id %(tag_id)s", tag_id=tag_id), "tagIds")
            if tag.archived:
                raise archived(Message("tag %(name)r is archived", name=tag.name), "tagIds")


def _try_uuid(value: Any) -> bool:
    try:
        UUID(str(value))
    except ValueError:
        return False
    return True


def _duplicate_from_race() -> DomainError:
    return DomainError.single(ErrorCode.DUPLICATE, "this value was just taken by another record")
