"""Rows without an external id imported under an idempotency key. Each gets an id made of
the key and its row number (`keyed_id`), so a repeat finds the partners the first run
created and treats them as any partner a row matches (unchanged when equal). Each
partner created so is saved with an `IdempotencyRecord` holding the digest of its row,
as any create with a key: a repeat with another row there is refused (VALIDATION on
`idempotencyKey`, before anything is written), and a run that loses the race to another
run of the same rows counts them unchanged instead of asking to run again."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from app.application.base import CommandBase
from app.application.importing.known import KnownPartners, keyed_id, legacy_keyed_id
from app.domain import odoo_columns as oc
from app.domain.errors import validation
from app.domain.idempotency import IdempotencyRecord, input_digest, record_id, same_input
from app.domain.messages import Message
from app.infra.batch_loading import load_many

_NOT_INPUT = frozenset({"line", "xid", "rejected", "warnings"})
"""What of a read row is not its input: the line is in its id, it has no external id."""


def _request(row: oc.OdooRow) -> dict[str, Any]:
    """A row's input as read (the digest is made of it), a copy: applying it changes
    nothing of it."""
    return {
        f.name: copy.deepcopy(getattr(row, f.name))
        for f in dataclasses.fields(row)
        if f.name not in _NOT_INPUT
    }


class KeyedRows:
    """The rows a key gives ids to (line -> id) and their inputs."""

    def __init__(self, app: CommandBase, rows: Sequence[oc.OdooRow], key: str) -> None:
        self.app = app
        keyed = [row for row in rows if not row.xid and not row.rejected]
        self.ids = {row.line: keyed_id(key, row.line) for row in keyed}
        self.legacy = {row.line: legacy_keyed_id(key, row.line) for row in keyed}
        self.requests = {row.line: _request(row) for row in keyed}

    def check(self, known: KnownPartners) -> None:
        """Refuses the import when a partner the key created came from another row
        (VALIDATION on idempotencyKey). Partners without a record (an erased person's
        digest is erased with its key) pass unchecked, as for any create. A row whose
        partner an import made before session 42 holds (its old id, with the record a key
        leaves: a partner imported with that external id has none) keeps that id."""
        found = {line: i for line, i in self.ids.items() if i in known.by_id}
        old = {line: i for line, i in self.legacy.items() if line not in found and i in known.by_id}
        records = load_many(self.app, [record_id(i) for i in (*found.values(), *old.values())])
        for line, partner_id in old.items():
            if record_id(partner_id) in records:
                self.ids[line] = found[line] = partner_id
        for line, partner_id in sorted(found.items()):
            if not self._same(line, records.get(record_id(partner_id)), unchecked=True):
                raise validation(
                    Message(
                        "this idempotency key was already used for other rows: row %(row)s differs",
                        row=line,
                    ),
                    "idempotencyKey",
                )

    def records(self, line: int, partner_id: UUID) -> list[IdempotencyRecord]:
        """What a new partner is saved with: the digest of its row, when the key made
        its id."""
        if self.ids.get(line) != partner_id:
            return []
        digest = input_digest(self.requests[line], self.app.idempotency_secret)
        return [IdempotencyRecord(str(partner_id), "Partner", digest)]

    def raced(self, rows: Sequence[tuple[int, str, UUID]]) -> bool:
        """Whether a batch that met another writer only created partners of this key,
        each of them saved meanwhile from the same row (another run of the same rows
        under the same key, sent at the same time)."""
        if not rows or any(
            outcome != "CREATED" or self.ids.get(line) != target for line, outcome, target in rows
        ):
            return False
        records = load_many(self.app, [record_id(target) for _, _, target in rows])
        return all(
            self._same(line, records.get(record_id(target)), unchecked=False)
            for line, _, target in rows
        )

    def _same(self, line: int, record: object, *, unchecked: bool) -> bool:
        """Whether `record` holds the digest of the row on `line`; `unchecked`: the
        answer when there is no digest to compare."""
        digest = record.digest if isinstance(record, IdempotencyRecord) else None
        if not isinstance(digest, str):
            return unchecked
        return same_input(digest, self.requests[line], self.app.idempotency_secret)
