"""The DataLoaders of a context: a load whose caller went away (a stopped subscription)
never leaves a later load of the same loader waiting."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any, cast
from uuid import UUID, uuid4

import pytest
from graphql import GraphQLObjectType
from strawberry.dataloader import DataLoader

from app.schema.context import Context, Loader, Services
from app.schema.execution_plans import leaf_plan
from app.schema.schema import build_schema


async def _echo(keys: Sequence[int]) -> list[int]:
    return [k * 10 for k in keys]


async def _load_after_a_cancelled_batch(loader: DataLoader[int, int], within: float) -> int:
    """Cancels the only load of a batch, lets the loop run what that schedules (the
    batch's dispatch task is created, then cancelled because nobody waits), then loads
    again: the second load must answer within `within` seconds (a bound for a lost
    answer, generous for a loaded machine)."""
    stopped = loader.load(1)
    stopped.cancel()  # type: ignore[attr-defined]
    for _ in range(3):
        await asyncio.sleep(0)
    async with asyncio.timeout(within):
        return await loader.load(2)


@pytest.mark.parametrize("cache", [False, True])
def test_strawberry_s_own_loader_hangs_there(cache: bool) -> None:
    """Why `Loader` exists: strawberry's DataLoader joins the dead batch and waits
    forever (if this starts failing, strawberry fixed it and `Loader` can go)."""
    with pytest.raises(TimeoutError):
        asyncio.run(_load_after_a_cancelled_batch(DataLoader(_echo, cache=cache), 0.5))


@pytest.mark.parametrize("cache", [False, True])
def test_a_load_after_a_cancelled_batch_answers(cache: bool) -> None:
    assert asyncio.run(_load_after_a_cancelled_batch(Loader(_echo, cache=cache), 10)) == 20


def test_a_batch_with_a_caller_left_is_still_shared() -> None:
    """Dropping a batch only when every caller went away: one still waiting keeps it,
    and the loads stay batched (one call of the load function)."""
    calls: list[list[int]] = []

    async def load(keys: Sequence[int]) -> list[int]:
        calls.append(list(keys))
        return [k * 10 for k in keys]

    async def run() -> list[int]:
        loader: Loader[int, int] = Loader(load, cache=False)
        stopped = loader.load(1)
        kept = loader.load(2)
        stopped.cancel()  # type: ignore[attr-defined]
        later = loader.load(3)
        async with asyncio.timeout(10):
            return list(await asyncio.gather(kept, later))

    assert asyncio.run(run()) == [20, 30]
    assert calls == [[1, 2, 3]]


def test_a_connection_s_loaders_answer_after_a_stopped_subscription() -> None:
    """The context of a WebSocket connection (long-lived: it keeps its loaders for every
    subscription on it) uses such loaders."""
    found: dict[UUID, Any] = {}

    class Directory:
        async def get_many(self, ids: Sequence[UUID]) -> dict[UUID, Any]:
            return {i: found[i] for i in ids if i in found}

    services = cast(Services, SimpleNamespace(clock=lambda: None, directory=Directory()))
    context = Context(services=services, request_id="r", actor="a", long_lived=True)
    first, second = uuid4(), uuid4()
    found[second] = "the partner"

    async def run() -> Any:
        stopped = context.partners.load(first)
        stopped.cancel()  # type: ignore[attr-defined]
        for _ in range(3):
            await asyncio.sleep(0)
        async with asyncio.timeout(10):
            return await context.partners.load(second)

    assert asyncio.run(run()) == "the partner"


def test_the_short_leaf_path_never_calls_an_async_resolver() -> None:
    """The short path reads only fields with strawberry's basic (synchronous) resolver:
    it cannot drop a resolver's coroutine. (The 'coroutine `_async_resolver` was never
    awaited' warning seen when a subscription is stopped comes from graphql-core: the
    operation's task is cancelled before a coroutine wrapping an already created
    resolver coroutine started, so that resolver never ran; nothing is lost.)"""
    schema = build_schema()._schema
    async_fields = [
        field
        for named in schema.type_map.values()
        if isinstance(named, GraphQLObjectType) and not named.name.startswith("__")
        for field in named.fields.values()
        if field.resolve is not None and asyncio.iscoroutinefunction(field.resolve)
    ]
    assert len(async_fields) > 20
    assert [f for f in async_fields if leaf_plan(f) is not None] == []
