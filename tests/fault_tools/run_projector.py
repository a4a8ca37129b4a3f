"""Catches the registry projection up from where its tracking table says, in small
batches, then exits 0. A fault test SIGKILLs it mid-batch and starts it again.

With PAUSE_AT = k > 0 it stops inside its k-th batch instead: everything the batch
writes (rows, tracking record, NOTIFY) is sent, only the COMMIT is not. It prints
`paused POSITION LAST` (the position the batch started from, its last notification id)
and waits for the kill; should stdin close first, it exits without committing. So the
test kills at a known point inside a transaction, whatever the machine's speed.

Usage: python -m tests.fault_tools.run_projector DATABASE_URL [PREFIX] [BATCH_SIZE] [PAUSE_AT]"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import Mapper, Notification
from psycopg import Cursor
from psycopg.rows import DictRow

from app.application import Partnerbook
from app.infra.database import Database
from app.projections.projector import Projector, RegistryProjection, construct_view


def main(url: str, prefix: str = "", batch_size: int = 50, pause_at: int = 0) -> None:
    db = Database.from_url(url)
    app = Partnerbook(env=db.eventsourcing_env(2, 5))
    view = construct_view(db.eventsourcing_env(2, 5), prefix=prefix)
    projection = RegistryProjection(view)
    if pause_at > 0:
        _pause_in_batch(projection, pause_at)
    projector = Projector(app, projection, db, batch_size=batch_size)
    projector.catch_up()
    print(projector.position, flush=True)


def _pause_in_batch(projection: RegistryProjection, batch: int) -> None:
    apply = projection.process_in
    seen = 0

    def process_in(
        curs: Cursor[DictRow],
        notifications: Sequence[Notification],
        mapper: Mapper[Any],
        events: Sequence[Any] | None = None,
    ) -> None:
        nonlocal seen
        seen += 1
        if seen != batch:
            apply(curs, notifications, mapper, events)
            return
        # The position this batch starts from, as the projector read it in this transaction.
        curs.execute(projection.view.max_tracking_id_statement, (projection.app_name,))
        row = curs.fetchone()
        position = (row["max"] if row else None) or 0
        apply(curs, notifications, mapper, events)
        print(f"paused {position} {notifications[-1].id}", flush=True)
        sys.stdin.read()  # until killed; a closed stdin (the test gone) ends it too
        os._exit(3)  # no COMMIT: the open batch is rolled back

    projection.process_in = process_in  # type: ignore[method-assign]


if __name__ == "__main__":
    url, *rest = sys.argv[1:]
    main(url, rest[0] if rest else "", *(int(a) for a in rest[1:3]))
