"""`bulk_update_partners`: one change applied to many partners, saved in batches.

Each batch of partners is loaded, changed (one event each, all with the same audit
metadata and reason) and saved in one transaction. A batch that meets a concurrent writer
(another command saved one of its partners in between) is not lost and does not
overwrite: each of its partners is changed again from its latest version, one by one,
as any command retries (`_change`). A key is taken before anything changes and then
remembers the outcome (`BulkEdit`): repeating the request answers it and records nothing
new; another input under the key is refused, also when both are sent at once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from app.application.base import MAX_RETRIES, CommandBase
from app.domain.audited import Audit, check_idempotency_key
from app.domain.bulk_edit import MAX_REFUSED_KEPT, UNSET, BulkChanges, BulkEdit, BulkOutcome
from app.domain.errors import DomainError, ErrorCode, FieldError, conflict, validation
from app.domain.idempotency import input_digest, same_input
from app.domain.messages import Message
from app.domain.partner import Partner
from app.infra.batch_loading import load_many

BULK_NAMESPACE = uuid5(NAMESPACE_URL, "https://partnerbook.dev/bulk-edits")
BATCH = 200
"""Partners per transaction (one `Updated` event each: well under the sizes that hang)."""


STALE_AFTER = timedelta(minutes=10)
"""How long a bulk edit that took its key but recorded no outcome is taken to be running
(a repeat meanwhile is CONFLICT); past it, its process is taken to have died and a
repeat with the same input runs it. 10,000 partners, the most at once, take well under."""


@dataclass(frozen=True)
class BulkResult:
    outcome: BulkOutcome
    job_id: UUID | None
    """The bulk edit's record (null for a dry run, or a run without a key)."""
    position: int | None


def bulk_job_id(idempotency_key: str) -> UUID:
    return uuid5(BULK_NAMESPACE, idempotency_key)


class BulkEditCommands(CommandBase):
    """Bulk edits of partners."""

    def bulk_update_partners(
        self,
        partner_ids: Sequence[UUID],
        changes: BulkChanges,
        audit: Audit,
        *,
        limit: int,
        dry_run: bool = False,
        idempotency_key: str | None = None,
        batch: int = BATCH,
        selector: Mapping[str, Any] | None = None,
    ) -> BulkResult:
        """`selector`: how the request named its partners when not by ids (its filter and
        search, or its segment), as sent: what a key's digest is taken of, so that the
        same request sent again answers its outcome, though the partners it matches have
        changed since (an edit that archives them matched none the second time)."""
        if len(partner_ids) > limit:
            # Not on one field: the partners came from `ids`, a filter or a segment.
            raise validation(
                Message(
                    "%(count)s partners or more match; at most %(limit)s at once",
                    count=len(partner_ids),
                    limit=limit,
                )
            )
        changes.check()
        check_idempotency_key(idempotency_key)
        named: Any = dict(selector) if selector is not None else sorted(map(str, partner_ids))
        request = {"selector" if selector is not None else "ids": named}
        request["changes"] = changes.as_request()
        job_id = bulk_job_id(idempotency_key) if idempotency_key else None
        if job_id is not None and (done := self._earlier_bulk(job_id, request)) is not None:
            return done
        self._check_bulk_references(changes)
        claimed = None if job_id is None or dry_run else self._claim_bulk(job_id, request, audit)
        if claimed is not None:
            return claimed
        outcome, position = BulkOutcome(matched=len(partner_ids)), None
        for start in range(0, len(partner_ids), batch):
            chunk = partner_ids[start : start + batch]
            position = self._bulk_batch(chunk, changes, audit, outcome, dry_run) or position
        if dry_run or job_id is None:
            return BulkResult(outcome, None, position)
        return self._finish_bulk(job_id, outcome, audit, position)

    def _earlier_bulk(self, job_id: UUID, request: dict[str, Any]) -> BulkResult | None:
        """The outcome of the bulk edit under this key; None when there is none yet, or
        when one with the same input started over STALE_AFTER ago and never finished (its
        process died): then this request runs it (its changes are made once: a partner
        that has them already is unchanged). Another input under the key is VALIDATION;
        the same input while it runs is CONFLICT (send it again once it has answered)."""
        done = self._find(job_id, BulkEdit)
        if done is None:
            return None
        if not same_input(done.digest, request, self.idempotency_secret):
            raise validation(
                "this idempotency key was already used for another bulk edit", "idempotencyKey"
            )
        if done.outcome is not None:
            return BulkResult(done.outcome, job_id, self._head())  # once projected
        started = done.created_on
        if datetime.now(started.tzinfo) - started >= STALE_AFTER:
            return None
        raise conflict("the record is being changed by others; try again", "idempotencyKey")

    def _claim_bulk(self, job_id: UUID, request: dict[str, Any], audit: Audit) -> BulkResult | None:
        """Takes the key before anything changes (`BulkEdit.Started`): of two requests
        under one key sent at once, the second is refused (VALIDATION for another input,
        CONFLICT for the same), having changed nothing. None: go on (the key is this
        request's, or a stale one it takes over)."""
        if self._find(job_id, BulkEdit) is not None:  # taken since `_earlier_bulk` looked
            return self._earlier_bulk(job_id, request)
        digest = input_digest(request, self.idempotency_secret)
        try:
            self._save(BulkEdit.start(job_id, digest, audit))
        except IntegrityError:  # the key was taken meanwhile: by which input?
            return self._earlier_bulk(job_id, request)
        return None

    def _finish_bulk(
        self, job_id: UUID, outcome: BulkOutcome, audit: Audit, position: int | None
    ) -> BulkResult:
        """Records the outcome a repeat answers; when the same request, run at the same
        time, finished first, its outcome stands (one answer for both)."""
        for _ in range(MAX_RETRIES):
            job = self._get(job_id, BulkEdit)
            if job.outcome is not None:
                return BulkResult(job.outcome, job_id, position)
            job.finish(outcome, audit)
            try:
                recordings = self._save(job)
            except IntegrityError:
                continue
            return BulkResult(outcome, job_id, recordings[-1].notification.id)
        raise conflict("the record is being changed by others; try again", "idempotencyKey")

    def _bulk_batch(
        self,
        ids: Sequence[UUID],
        changes: BulkChanges,
        audit: Audit,
        outcome: BulkOutcome,
        dry_run: bool,
    ) -> int | None:
        """Changes one batch; returns the position of its last event (None: none saved)."""
        changed: list[Aggregate] = []
        loaded = load_many(self, ids)
        for partner_id in ids:
            found = loaded.get(partner_id)
            partner = found if isinstance(found, Partner) else None
            if self._bulk_apply(partner_id, partner, changes, audit, outcome):
                assert partner is not None
                changed.append(partner)
        if dry_run or not changed:
            outcome.changed += len(changed)
            return None
        try:
            recordings = self.save(*changed)
        except IntegrityError:
            return self._bulk_one_by_one([p.id for p in changed], changes, audit, outcome)
        outcome.changed += len(changed)
        return recordings[-1].notification.id

    def _bulk_one_by_one(
        self, ids: Sequence[UUID], changes: BulkChanges, audit: Audit, outcome: BulkOutcome
    ) -> int | None:
        """A batch a concurrent writer got in the way of: each partner changed from its
        latest version (another writer's change kept, then this one made if still needed)."""
        position = None
        for partner_id in ids:
            try:
                result = self._change(
                    Partner, partner_id, None, lambda p: [p] if changes.apply(p, audit) else []
                )
            except DomainError as error:
                _refuse(outcome, partner_id, error)
                continue
            if result.position is None:
                outcome.unchanged += 1
            else:
                outcome.changed += 1
                position = result.position
        return position

    def _bulk_apply(
        self,
        partner_id: UUID,
        partner: Partner | None,
        changes: BulkChanges,
        audit: Audit,
        outcome: BulkOutcome,
    ) -> bool:
        if partner is None:
            _refuse(
                outcome,
                partner_id,
                DomainError.single(ErrorCode.NOT_FOUND, "no such partner", "id"),
            )
            return False
        try:
            if changes.apply(partner, audit):
                return True
        except DomainError as error:
            _refuse(outcome, partner_id, error)
            return False
        outcome.unchanged += 1
        return False

    def _check_bulk_references(self, changes: BulkChanges) -> None:
        """Tags added must exist and be active; so must a salesperson assigned."""
        try:
            self._check_tags(changes.add_tag_ids)
        except DomainError as error:
            raise DomainError([_under_changes(e, "addTagIds") for e in error.errors]) from None
        if changes.salesperson_id not in (UNSET, None):
            refs = {"salesperson_id": (changes.salesperson_id, "SALESPERSON")}
            try:
                self._check_catalog_references(refs)
            except DomainError as error:
                raise DomainError(
                    [_under_changes(e, "salespersonId") for e in error.errors]
                ) from None


def _under_changes(error: FieldError, name: str) -> FieldError:
    """Named by the input field of `changes` it is about (as the API's id checks name it)."""
    return replace(error, field=(name,))


def _refuse(outcome: BulkOutcome, partner_id: UUID, error: DomainError) -> None:
    outcome.refused_count += 1
    if len(outcome.refused) < MAX_REFUSED_KEPT:
        errors = [
            {"field": list(e.field), "code": e.code.value, "message": e.message}
            for e in error.errors
        ]
        outcome.refused.append((str(partner_id), errors))
