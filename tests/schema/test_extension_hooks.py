"""app/schema/extension_hooks.py runs the extensions' hooks exactly as strawberry does:
the same hooks, in the same order, around the same stages, errors included."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import strawberry
from strawberry.extensions import SchemaExtension
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.types import ExecutionContext

from app.schema.extension_hooks import HooksFoundOnce

TRACE: list[str] = []


class Generators(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        TRACE.append("gen operation in")
        yield
        TRACE.append("gen operation out")

    def on_validate(self) -> Iterator[None]:
        TRACE.append("gen validate in")
        yield
        TRACE.append("gen validate out")

    def on_execute(self) -> Iterator[None]:
        TRACE.append("gen execute in")
        yield
        TRACE.append("gen execute out")


class AsyncGenerators(SchemaExtension):
    async def on_parse(self) -> AsyncIterator[None]:
        TRACE.append("async parse in")
        yield
        TRACE.append("async parse out")

    async def on_execute(self) -> AsyncIterator[None]:
        TRACE.append("async execute in")
        yield
        TRACE.append("async execute out")


class Plain(SchemaExtension):
    def on_operation(self) -> None:  # type: ignore[override]  # a plain callable hook
        TRACE.append("plain operation")


class Refusing(SchemaExtension):
    """Each instance is its own: the state a hook keeps is the request's."""

    def __init__(self) -> None:
        self.seen = 0

    def on_validate(self) -> Iterator[None]:
        self.seen += 1
        TRACE.append(f"refusing validate {self.seen}")
        if self.execution_context.query and "refuse" in self.execution_context.query:
            raise ValueError("refused")
        yield


@strawberry.type
class Query:
    @strawberry.field
    def hello(self) -> str:
        TRACE.append("resolver")
        return "hi"

    @strawberry.field
    def refuse(self) -> str:
        return "never"


class Found(strawberry.Schema):
    def create_extensions_runner(
        self, execution_context: ExecutionContext, extensions: list[SchemaExtension]
    ) -> SchemaExtensionsRunner:
        return HooksFoundOnce(execution_context=execution_context, extensions=extensions)


EXTENSIONS: list[Any] = [Generators, Plain, AsyncGenerators, Refusing]


def traced(schema: strawberry.Schema, query: str) -> tuple[list[str], Any, list[str]]:
    TRACE.clear()
    result = asyncio.run(schema.execute(query))
    return list(TRACE), result.data, [e.message for e in result.errors or []]


@pytest.mark.parametrize("query", ["{ hello }", "{ refuse }", "{ nope }", "{ hello"])
def test_hooks_run_as_strawberry_runs_them(query: str) -> None:
    plain = strawberry.Schema(query=Query, extensions=EXTENSIONS)
    found = Found(query=Query, extensions=EXTENSIONS)
    expected = traced(plain, query)
    for _ in range(3):  # and again, once the hooks are known
        assert traced(found, query) == expected
    assert expected[0]  # the hooks did run


def test_the_schema_finds_its_hooks_once() -> None:
    from app.schema.schema import build_schema

    runner = build_schema().create_extensions_runner(None, [])  # type: ignore[arg-type]
    assert isinstance(runner, HooksFoundOnce)
