"""The subscription hub: routing by key, bounded queues, and the replay/live seam."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any
from uuid import UUID, uuid4

import pytest

from app.queries.change_feed import FeedFilter
from app.queries.timeline_queries import TimelineRow
from app.schema.errors import ClientError
from app.schema.live.cursors import encode_cursor
from app.schema.live.hub import SubscriptionHub
from app.schema.live.subscriptions import follow

COMPANY, CONTACT, OTHER = uuid4(), uuid4(), uuid4()


def row(
    position: int, partner: UUID, subject_type: str = "Partner", commercial: UUID | None = None
) -> TimelineRow:
    return TimelineRow(
        position=position,
        occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
        kind="PARTNER_UPDATED",
        actor="t",
        request_id=None,
        reason=None,
        summary="",
        subject_type=subject_type,
        subject_id=partner,
        changes={},
        partner_id=partner,
        commercial_partner_id=commercial or partner,
        assignee_id=None,
    )


def hub(queue_size: int = 10) -> SubscriptionHub:
    return SubscriptionHub(feed=None, waiter=None, queue_size=queue_size)  # type: ignore[arg-type]


def test_rows_reach_only_the_subscribers_of_their_keys() -> None:
    async def scenario() -> None:
        h = hub()
        company = h.register({("timeline", COMPANY)})
        other = h.register({("timeline", OTHER)})
        h.dispatch([row(1, CONTACT, commercial=COMPANY), row(2, COMPANY), row(3, OTHER)])
        assert [company.queue.get_nowait().row.position for _ in range(2)] == [1, 2]
        assert company.queue.empty()
        assert other.queue.get_nowait().row.position == 3
        assert h.position == 3

    asyncio.run(scenario())


def test_a_slow_subscriber_is_dropped_without_slowing_others() -> None:
    async def scenario() -> None:
        h = hub(queue_size=3)
        slow = h.register({("partner", "*")})
        fast = h.register({("partner", "*")})
        for position in range(1, 6):
            h.dispatch([row(position, COMPANY)])
            fast.queue.get_nowait()
        assert slow.overflowed.is_set() and slow.queue.qsize() == 3
        assert not fast.overflowed.is_set()
        assert h.subscriber_count == 1

    asyncio.run(scenario())


class FakeFeed:
    def __init__(self, rows: list[TimelineRow]) -> None:
        self.rows = rows

    async def replay(self, f: FeedFilter, after: int, upto: int) -> Any:
        yield [r for r in self.rows if after < r.position <= upto]


def info_for(h: SubscriptionHub, feed: FeedFilter | Any, closed: list[Any] | None = None) -> Any:
    async def disconnect(code: int, reason: str) -> None:
        assert closed is not None
        closed.append((code, reason))

    return SimpleNamespace(
        context=SimpleNamespace(
            services=SimpleNamespace(hub=h, feed=feed),
            disconnect=disconnect if closed is not None else None,
        )
    )


def test_replay_then_live_without_gap_or_repeat() -> None:
    async def scenario() -> None:
        h = hub()
        h.position = 4  # the hub has handed out rows up to 4
        stored = [row(p, COMPANY) for p in range(1, 5)]
        stream = follow(
            info_for(h, FakeFeed(stored)), {("partner", COMPANY)}, FeedFilter(), encode_cursor(2)
        )
        got = [await anext(stream), await anext(stream)]
        h.dispatch([row(4, COMPANY), row(5, COMPANY)])  # 4 arrives again live: skipped
        got.append(await anext(stream))
        assert [d.row.position for d in got] == [3, 4, 5]
        await stream.aclose()
        assert h.subscriber_count == 0

    asyncio.run(scenario())


def test_a_dropped_subscriber_gets_what_it_had_then_a_resume_cursor() -> None:
    async def scenario() -> None:
        h = hub(queue_size=2)
        closed: list[Any] = []
        stream = follow(
            info_for(h, FakeFeed([]), closed), {("partner", COMPANY)}, FeedFilter(), None
        )
        first = asyncio.ensure_future(anext(stream))
        await asyncio.sleep(0)  # the generator registers and waits
        h.dispatch([row(p, COMPANY) for p in range(1, 6)])
        got = [await first, await anext(stream)]
        with pytest.raises(ClientError) as raised:
            await anext(stream)
        assert [d.row.position for d in got] == [1, 2]
        assert raised.value.extensions == {"code": "SLOW_SUBSCRIBER"}
        assert encode_cursor(2) in raised.value.message
        assert closed == [(4429, f"slow subscriber; resume after {encode_cursor(2)}")]

    asyncio.run(scenario())


def test_an_activity_naming_a_company_goes_to_that_companys_subscribers() -> None:
    from dataclasses import replace

    from app.schema.live.hub import keys_of

    activity = replace(row(1, CONTACT, "Activity", COMPANY), company_id=OTHER)
    keys = keys_of(activity)
    assert {("timeline", OTHER), ("activity-partner", OTHER)} <= keys
    assert ("timeline", OTHER) not in keys_of(row(2, CONTACT, "Activity", COMPANY))
