"""activityChanged, partnerChanged and timeline: each replays what came after `after`
from the database, then goes on live, every event once and in order."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from uuid import UUID

import strawberry
from strawberry.scalars import JSON

from app.domain.messages import Message
from app.queries.change_feed import FeedFilter
from app.queries.timeline_queries import TimelineRow
from app.schema.context import Info, Services
from app.schema.descriptions import described
from app.schema.errors import ClientError, argument_id
from app.schema.live.cursors import decode_cursor, encode_cursor
from app.schema.live.hub import Delivery, Key, Records, SubscriptionHub
from app.schema.partners.types import Partner
from app.schema.relationship.enums import TimelineKind
from app.schema.relationship.types import Activity, TimelineEntry

SLOW_SUBSCRIBER_CLOSE_CODE = 4429
"""WebSocket close code for a subscriber dropped because its queue overflowed."""


@strawberry.type(description="A change of an activity.")
class ActivityEvent:
    cursor: str = strawberry.field(description="Give it as `after` to resume after this event.")
    kind: TimelineKind = strawberry.field(description="What happened to the activity.")
    activity: Activity | None = strawberry.field(description="The activity as it is now.")

    @classmethod
    def of(cls, delivery: Delivery) -> ActivityEvent:
        row, activity = delivery.row, delivery.record
        return cls(
            cursor=encode_cursor(row.position),
            kind=TimelineKind(row.kind),
            activity=Activity.from_row(activity) if activity else None,
        )


@strawberry.type(description="A change of a partner.")
class PartnerEvent:
    cursor: str = strawberry.field(description="Give it as `after` to resume after this event.")
    event_type: TimelineKind = strawberry.field(description="What happened to the partner.")
    partner: Partner | None = strawberry.field(description="The partner as it is now.")
    changes: JSON = strawberry.field(description="The new values the event carried.")

    @classmethod
    def of(cls, delivery: Delivery) -> PartnerEvent:
        row, partner = delivery.row, delivery.record
        return cls(
            cursor=encode_cursor(row.position),
            event_type=TimelineKind(row.kind),
            partner=Partner.from_row(partner) if partner else None,
            changes=JSON(row.changes),
        )


async def follow(
    info: Info,
    keys: set[Key],
    replay: FeedFilter,
    after: str | None,
    accepts: Callable[[TimelineRow], bool] = lambda _: True,
) -> AsyncGenerator[Delivery, None]:
    """Replay from the database after the cursor, then live rows from the hub, with no
    gap and no repeat at the seam: the hub buffers from the moment of registration."""
    services = info.context.services
    start = decode_cursor(after) if after is not None else None
    subscriber = services.hub.register(keys, accepts)
    upto = services.hub.position  # read in the same step as registering
    try:
        last = upto
        if start is not None:
            # One key replays PARTNERBOOK_REPLAYS_PER_KEY subscriptions at once: 800
            # replays of one viewer held ~850 MB of batches and the read pool.
            async with services.hub.replays.held(None):
                async for replayed in _replayed(services, replay, start, upto):
                    yield replayed
            last = max(start, upto)
        while True:
            if subscriber.queue.empty() and subscriber.overflowed.is_set():
                resume = encode_cursor(last)
                disconnect = info.context.disconnect
                if disconnect is not None:
                    # The connection goes: a client that cannot keep up must not hold
                    # buffers; it reconnects and resumes from the cursor in the reason.
                    await disconnect(
                        SLOW_SUBSCRIBER_CLOSE_CODE, f"slow subscriber; resume after {resume}"
                    )
                raise ClientError(
                    Message(
                        "this subscriber fell too far behind and was dropped; subscribe again with after: %(resume)r to get the rest",
                        resume=resume,
                    ),
                    "SLOW_SUBSCRIBER",
                )
            queued = await subscriber.queue.get()
            if queued.row.position <= last:
                continue
            last = queued.row.position
            delivery = await _current(services.hub, queued)
            if delivery is not None:
                yield delivery
    finally:
        services.hub.unregister(subscriber)


async def _replayed(
    services: Services, replay: FeedFilter, start: int, upto: int
) -> AsyncGenerator[Delivery, None]:
    """The rows after `start` up to `upto`, with their records, from the database."""
    hub = services.hub
    batches = aiter(services.feed.replay(replay, start, upto))
    while True:
        seen = hub.erasures  # before the read: an erasure meanwhile makes it stale
        rows = await anext(batches, None)
        if rows is None:
            return
        records = await hub.enrich(rows) if hub.enrich else {}
        for row in rows:
            delivery = await _current(
                hub, Delivery(row, records.get((row.subject_type, row.subject_id)), seen)
            )
            if delivery is not None:
                yield delivery


async def _current(hub: SubscriptionHub, delivery: Delivery) -> Delivery | None:
    """`delivery`, read again if its partner was erased after it was read."""
    erased = hub.stale(delivery)
    return delivery if erased is None else await hub.reread(delivery, erased)


def _activity_keys(partner: UUID | None, assignee: UUID | None) -> set[Key]:
    """The hub keys of the activities of a partner, else of an assignee, else of all."""
    if partner is not None:
        return {("activity-partner", partner)}
    if assignee is not None:
        return {("activity-assignee", assignee)}
    return {("activity", "*")}


def _assigned_to(assignee: UUID | None) -> Callable[[TimelineRow], bool]:
    return lambda row: assignee is None or row.assignee_id == assignee


_ARGUMENTS = {
    "partner_id": "The partner whose view to follow (a company's includes its contacts').",
    "assignee_id": "Only the activities assigned to this salesperson.",
    "partner_ids": "Only changes to these partners (to any, when left out).",
    "after": "The `cursor` of an event already received: everything after it is replayed "
    "first, then live events follow, none twice. Without it: from now on.",
}


@described(_ARGUMENTS)
@strawberry.type(description="Live events over WebSocket (graphql-transport-ws, graphql-ws).")
class Subscription:
    @strawberry.subscription(
        description="Activity changes of a partner (a company's include its contacts'), "
        "of an assignee, or of all; resumable with `after`."
    )
    async def activity_changed(
        self,
        info: Info,
        partner_id: strawberry.ID | None = None,
        assignee_id: strawberry.ID | None = None,
        after: str | None = None,
    ) -> AsyncGenerator[ActivityEvent, None]:
        partner = argument_id(partner_id, "Partner") if partner_id else None
        assignee = argument_id(assignee_id, "Salesperson") if assignee_id else None
        keys = _activity_keys(partner, assignee)
        replay = FeedFilter(partner_scope=partner, assignee_id=assignee, subject_type="Activity")
        async for delivery in follow(info, keys, replay, after, _assigned_to(assignee)):
            yield ActivityEvent.of(delivery)

    @strawberry.subscription(description="Changes of these partners (or of all); resumable.")
    async def partner_changed(
        self,
        info: Info,
        partner_ids: list[strawberry.ID] | None = None,
        after: str | None = None,
    ) -> AsyncGenerator[PartnerEvent, None]:
        ids = None if partner_ids is None else tuple(argument_id(p, "Partner") for p in partner_ids)
        keys: set[Key] = {("partner", i) for i in ids} if ids is not None else {("partner", "*")}
        replay = FeedFilter(partner_ids=ids, subject_type="Partner")
        async for delivery in follow(info, keys, replay, after):
            yield PartnerEvent.of(delivery)

    @strawberry.subscription(
        description="A partner's timeline as it grows (a company's includes its contacts')."
    )
    async def timeline(
        self, info: Info, partner_id: strawberry.ID, after: str | None = None
    ) -> AsyncGenerator[TimelineEntry, None]:
        partner = argument_id(partner_id, "Partner")
        replay = FeedFilter(partner_scope=partner)
        async for delivery in follow(info, {("timeline", partner)}, replay, after):
            yield TimelineEntry.from_row(delivery.row)


def record_loader(services: Services) -> Callable[[Sequence[TimelineRow]], Awaitable[Records]]:
    """Loads the partners and activities a stretch of the feed is about: two queries for
    all the subscribers it goes to, instead of one per subscriber."""

    async def enrich(rows: Sequence[TimelineRow]) -> Records:
        partner_ids = [r.subject_id for r in rows if r.subject_type == "Partner"]
        activity_ids = [r.subject_id for r in rows if r.subject_type == "Activity"]
        records: Records = {}
        if partner_ids:
            for ident, partner in (await services.directory.get_many(partner_ids)).items():
                records[("Partner", ident)] = partner
        if activity_ids:
            found = await services.relationships.activities(activity_ids, services.clock())
            for ident, activity in found.items():
                records[("Activity", ident)] = activity
        return records

    return enrich
