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


class ScrubbingFeed(FakeFeed):
    """The timeline table: `between` reads what it holds now (scrubbed by an erasure)."""

    def __init__(self, rows: list[TimelineRow], erase_while_replaying: Any = None) -> None:
        super().__init__(rows)
        self.erase_while_replaying = erase_while_replaying

    async def between(self, after: int, upto: int) -> list[TimelineRow]:
        return [r for r in self.rows if after < r.position <= upto]

    async def replay(self, f: FeedFilter, after: int, upto: int) -> Any:
        read = [r for r in self.rows if after < r.position <= upto]
        if self.erase_while_replaying is not None:
            self.erase_while_replaying()  # the erasure lands after the read, before the yield
        yield read


def _private(position: int) -> TimelineRow:
    from dataclasses import replace

    return replace(row(position, CONTACT), reason="Uma's private reason", changes={"name": "Uma"})


def _scrub(feed: ScrubbingFeed, names: dict[UUID, str]) -> None:
    """What the projection does in the erasure's transaction."""
    from dataclasses import replace

    feed.rows = [replace(r, reason=None, changes={"name": None}) for r in feed.rows]
    names[CONTACT] = "Anonymized partner"


def _anonymized(position: int) -> TimelineRow:
    from dataclasses import replace

    return replace(row(position, CONTACT), kind="PARTNER_ANONYMIZED")


def _enriching(h: SubscriptionHub, names: dict[UUID, str]) -> Any:
    async def enrich(rows: Any) -> Any:
        return {("Partner", r.subject_id): {"name": names[r.subject_id]} for r in rows}

    h.enrich = enrich
    return enrich


def test_a_queued_delivery_of_a_partner_erased_meanwhile_goes_out_as_erased() -> None:
    """A slow subscriber's queue held what was read before an erasure: it went out after
    `anonymizePartner` had answered, the erased values in it. The erasure's notice marks
    it stale; it is read again once the read models are scrubbed."""

    async def scenario() -> None:
        h = hub()
        names = {CONTACT: "Uma Hiddenname"}
        feed = ScrubbingFeed([_private(1), _private(2)])
        h.feed = feed  # type: ignore[assignment]
        enrich = _enriching(h, names)
        stream = follow(info_for(h, feed), {("timeline", CONTACT)}, FeedFilter(), None)
        first = asyncio.ensure_future(anext(stream))
        await asyncio.sleep(0)  # registered, waiting
        h.dispatch(feed.rows, await enrich(feed.rows), h.erasures)
        assert (await first).row.reason == "Uma's private reason"  # before the erasure
        h.erased(CONTACT)  # the notice, before the mutation answers
        second = asyncio.ensure_future(anext(stream))
        for _ in range(5):
            await asyncio.sleep(0)
        assert not second.done()  # nothing goes out before the read models are scrubbed
        _scrub(feed, names)
        feed.rows.append(_anonymized(3))
        h.dispatch([feed.rows[-1]], await enrich([feed.rows[-1]]), h.erasures)
        delivered = await second
        assert delivered.row.position == 2
        assert delivered.row.reason is None and delivered.row.changes == {"name": None}
        assert delivered.record == {"name": "Anonymized partner"}
        assert (await anext(stream)).row.kind == "PARTNER_ANONYMIZED"
        await stream.aclose()

    asyncio.run(scenario())


def test_a_replayed_batch_read_before_an_erasure_goes_out_as_erased() -> None:
    async def scenario() -> None:
        h = hub()
        names = {CONTACT: "Uma Hiddenname"}
        feed = ScrubbingFeed([_private(1), _private(2)])
        h.feed = feed  # type: ignore[assignment]
        _enriching(h, names)
        h.position = 2

        def erase() -> None:
            h.erased(CONTACT)
            _scrub(feed, names)
            h.dispatch([_anonymized(3)])

        feed.erase_while_replaying = erase
        stream = follow(info_for(h, feed), {("timeline", CONTACT)}, FeedFilter(), encode_cursor(0))
        got = [await anext(stream), await anext(stream)]
        assert [d.row.position for d in got] == [1, 2]
        assert all(d.row.reason is None for d in got)
        assert all(d.record == {"name": "Anonymized partner"} for d in got)
        await stream.aclose()

    asyncio.run(scenario())
