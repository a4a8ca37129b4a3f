"""psycopg's pipeline mode, made to send every statement whole.

psycopg 3.3.9's pipeline loop (`pipeline_communicate`, in C and in Python alike) sends the
queued commands and flushes libpq's buffer once each time the socket is writable; it stops
as soon as no command is left, even when that last flush could not send everything. It
then waits for results, and the server, still reading the statement's tail, waits for it:
both wait for ever, the server's session `active` in `ClientRead`. Over a Unix socket (the
embedded server) a statement of ~1 MB was enough. eventsourcing inserts a batch of events
as one statement in a pipeline, so an editor's import of 20 rows with long notes hung,
holding the events table's lock, and every write in the system waited behind it
(tests/infra/test_pipeline_sends_all.py).

`install` wraps the loop so that it finishes sending what libpq still holds before it
returns: while `PQflush` says more is left, wait until the socket is writable and flush
again. Where nothing is left (every statement but a large one) that is one call."""

from __future__ import annotations

from collections import deque
from typing import Any

from psycopg import _pipeline_base
from psycopg.abc import PipelineCommand, PQGen
from psycopg.pq.abc import PGconn, PGresult
from psycopg.waiting import Wait

_WRAPPED = "_partnerbook_sends_all"


def _sends_all(communicate: Any) -> Any:
    def pipeline_communicate(
        pgconn: PGconn, commands: deque[PipelineCommand]
    ) -> PQGen[list[list[PGresult]]]:
        results: list[list[PGresult]] = yield from communicate(pgconn, commands)
        while pgconn.flush() == 1:  # libpq holds part of a statement still
            while not (yield Wait.W):
                continue
        return results

    setattr(pipeline_communicate, _WRAPPED, True)
    return pipeline_communicate


def install() -> None:
    """Wraps psycopg's pipeline loop, once a process."""
    current = getattr(_pipeline_base, "pipeline_communicate")  # noqa: B009 (not exported)
    if not getattr(current, _WRAPPED, False):
        setattr(_pipeline_base, "pipeline_communicate", _sends_all(current))  # noqa: B010
