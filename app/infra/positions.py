"""Read-your-writes: lets a request wait until the projections have passed a position,
woken by the projector's NOTIFY (on the process's notice listener, app/infra/notices.py)
rather than by polling."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import psycopg
from psycopg.sql import SQL, Identifier

from app.infra.notices import NoticeListener

log = logging.getLogger(__name__)
PROJECTED_CHANNEL = "partnerbook_projected"
"""Where the projector announces `<projection>:<position>` after each batch."""


Connect = Callable[[], AbstractAsyncContextManager[psycopg.AsyncConnection[Any]]]
"""A connection to the primary for the time of a `with` block."""


class ProjectionWaiter:
    def __init__(self, app_name: str, projections: dict[str, str], connect: Connect) -> None:
        """`projections` maps a projection name to its tracking table. The positions are
        read again (on each reconnection of the listener, after a wait that timed out)
        on a connection from `connect`, the server's pool (`RoutedPool.primary`): each of
        the change feed's followers (the subscription hub, the webhooks) waits at most
        5 s at a time, and a connection opened for each read was two every 5 s on an idle
        server."""
        self.app_name = app_name
        self.projections = projections
        self._connect = connect
        self.positions: dict[str, int] = dict.fromkeys(projections, 0)
        self._changed = asyncio.Condition()

    @property
    def position(self) -> int:
        """The position every projection has passed."""
        return min(self.positions.values(), default=0)

    def follow(self, listener: NoticeListener) -> None:
        """Takes the projector's NOTIFYs from `listener`; on each (re)connection reads
        the positions it may have missed."""
        listener.on(PROJECTED_CHANNEL, self._notified, confirm=False)
        listener.when_connected(self._refresh)

    async def start(self) -> None:
        await self._refresh()

    async def _notified(self, payload: str) -> None:
        name, _, value = payload.rpartition(":")
        await self._advance(name, int(value))

    async def wait_for(self, position: int | None, within: float) -> bool:
        """True once every projection has passed `position`; False after `within` s."""
        if position is None or self.position >= position:
            return True
        try:
            async with asyncio.timeout(within), self._changed:
                await self._changed.wait_for(lambda: self.position >= position)
            return True
        except TimeoutError:
            try:
                await self._refresh()  # a NOTIFY may have been missed while reconnecting
            except psycopg.Error:
                log.warning("cannot read projection positions", exc_info=True)
            return self.position >= position

    async def _advance(self, name: str, position: int) -> None:
        if name in self.positions and position > self.positions[name]:
            self.positions[name] = position
            async with self._changed:
                self._changed.notify_all()

    async def _refresh(self) -> None:
        async with self._connect() as conn:
            for name, table in self.projections.items():
                try:
                    cur = await conn.execute(
                        SQL(
                            "SELECT max(notification_id) FROM {} WHERE application_name = %s"
                        ).format(Identifier(table)),
                        (self.app_name,),
                    )
                except psycopg.errors.UndefinedTable:
                    continue
                row = await cur.fetchone()
                if row is not None and row[0] is not None:
                    await self._advance(name, int(row[0]))
