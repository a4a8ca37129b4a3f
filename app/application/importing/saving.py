"""An import's saves: the aggregates of many rows in one transaction, each row counted
once the batch holding it is saved (or rejected, when another writer got in the way;
unchanged, when that writer was another run of the same rows under the same key)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from app.application.base import CommandBase
from app.application.importing.keyed import KeyedRows
from app.application.importing.report import Outcomes
from app.domain import odoo_columns as oc

MAX_BATCH = 400
"""New partners per transaction at most: larger saves hang in psycopg (docs/scaling.md)."""


class Batches:
    """Aggregates waiting to be saved, and the rows they come from. A dry run saves
    nothing but counts the rows all the same."""

    def __init__(
        self,
        app: CommandBase,
        outcomes: Outcomes,
        *,
        dry_run: bool,
        batch_size: int,
        keyed: KeyedRows | None = None,
    ) -> None:
        self.app = app
        self.outcomes = outcomes
        self.dry_run = dry_run
        self.batch_size = max(1, min(batch_size, MAX_BATCH))
        self.keyed = keyed
        self.aggregates: list[Aggregate] = []
        self.rows: list[tuple[int, str, UUID]] = []
        """Line, outcome (CREATED or UPDATED) and partner id of the rows waiting."""
        self.lost: list[Callable[[Sequence[Aggregate]], None]] = []
        """Told the aggregates of a batch that was not saved."""

    def add(self, *aggregates: Aggregate) -> None:
        """Saved with the next batch, not counted as a row (a new tag, an archiving)."""
        self.aggregates += aggregates

    def stage(
        self, line: int, outcome: str, target: UUID, *aggregates: Aggregate, full: bool = True
    ) -> None:
        """A row's aggregates; the batch is saved once it holds `batch_size` rows (unless
        not `full`: the caller saves it)."""
        self.aggregates += aggregates
        self.rows.append((line, outcome, target))
        if full and len(self.rows) >= self.batch_size:
            self.flush()

    def flush(self, *, again: bool = False) -> bool:
        """Saves what is waiting; False when another writer got in the way. Its rows are
        then rejected (to run again), unless `again`: the caller tries them again, and
        they are neither counted nor rejected. A batch with no row in it holds new tags
        and entries of rejected rows (nothing then is lost), or archivings (`again`)."""
        if not self.rows and not self.aggregates:
            return True
        rows, aggregates = self.rows, self.aggregates
        self.rows, self.aggregates = [], []
        report = self.outcomes.report
        if not self.dry_run and aggregates:
            try:
                recordings = self.app.save(*aggregates)
            except IntegrityError:
                for forget in self.lost:
                    forget(aggregates)
                if again or not rows:
                    return False
                if self.keyed is not None and self.keyed.raced(rows):
                    self._saved_by_twin(rows)
                    return False
                for line, _, _ in rows:
                    report.rejected.append(
                        oc.Problem(
                            line,
                            "id",
                            "another writer changed these partners at the same time: run the import again",
                        )
                    )
                    report.outcomes[line] = "REJECTED"
                self.outcomes.tick(len(rows))
                return False
            if recordings:
                report.position = recordings[-1].notification.id
        for line, outcome, target in rows:
            self.outcomes.count(line, outcome, target, tick=False)
        self.outcomes.tick(len(rows))
        return True

    def _saved_by_twin(self, rows: Sequence[tuple[int, str, UUID]]) -> None:
        """The batch's partners, saved by another run of the same rows: unchanged, and
        answered once the read model shows them (their events are older than the
        newest now)."""
        report = self.outcomes.report
        head = self.app.recorder.max_notification_id()
        report.position = max(report.position or 0, head or 0) or None
        for line, _, target in rows:
            self.outcomes.count(line, "UNCHANGED", target, tick=False)
        self.outcomes.tick(len(rows))
