"""The short paths of app/schema/execution.py answer exactly what graphql-core's own
execution answers: the same data, and the same errors at the same paths."""

from __future__ import annotations

import asyncio
import gc
import operator
from datetime import datetime
from enum import Enum
from typing import Any

import pytest
import strawberry
from strawberry.extensions import ParserCache

from app.schema.execution import ShortLeafExecutionContext
from app.schema.partners.row_fields import _FromRow


@strawberry.enum
class Colour(Enum):
    RED = "RED"
    BLUE = "BLUE"


class Row:
    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)

    @property
    def broken(self) -> str:
        raise RuntimeError("the getter failed")


class OtherRow(Row):
    """Another class of item in the same list (each class is looked at on its own)."""

    @property
    def broken(self) -> str:
        return "not broken here"


@strawberry.type
class Detail:
    size: int
    label: str

    @strawberry.field
    async def later(self) -> str:  # awaited inside an object read on the short path
        return self.label


@strawberry.interface
class Labelled:
    label: str


@strawberry.type
class Badge(Labelled):  # has strawberry's is_type_of (an isinstance check)
    size: int


class Impostor:  # what a resolver may wrongly return where a Badge is due
    label = "fake"
    size = 0


@strawberry.type
class Item:
    name: str
    count: int
    note: str | None
    colour: Colour
    broken: str | None

    # Plain resolvers (no arguments, no info): read without strawberry's wrapper.
    @strawberry.field
    def shout(self) -> str | None:
        return self.name.upper()  # fails on a null name

    @strawberry.field
    def detail(self) -> Detail | None:
        return Detail(size=self.count, label=self.name)

    @strawberry.field
    def strict(self) -> Detail:
        return Detail(size=self.count, label=self.name)

    @strawberry.field
    def details(self) -> list[Detail]:
        return [Detail(size=self.count, label=self.name)] * 2

    @strawberry.field
    def badges(self) -> list[Badge]:
        return [Badge(label=self.name, size=self.count), Badge(label="b", size=1)]

    @strawberry.field
    def mixed(self) -> list[Detail | None]:  # a list with a null, an impostor, a raising item
        return [Detail(size=1, label="a"), None, Impostor(), Detail(size=2, label=None)]  # type: ignore[list-item,arg-type]

    @strawberry.field
    def strict_list(self) -> list[Detail]:  # a null label makes its item, then the list, null
        return [Detail(size=1, label="a"), Detail(size=2, label=None)]  # type: ignore[arg-type]

    @strawberry.field
    def impostor(self) -> Badge | None:
        return Impostor()  # type: ignore[return-value]

    @strawberry.field
    def failing(self) -> Detail | None:
        raise RuntimeError("the resolver failed")

    @strawberry.field
    def with_info(self, info: strawberry.Info) -> str:  # not plain: strawberry's path
        return info.field_name


ROWS = {
    "fine": [Row(name=f"n{i}", count=i, note=None, colour=Colour.RED) for i in range(3)],
    "null_in_non_null": [
        Row(name="a", count=1, note="x", colour=Colour.BLUE),
        Row(name=None, count=2, note=None, colour=Colour.RED),
    ],
    "refused_by_scalar": [Row(name="a", count="not a number", note=None, colour=Colour.RED)],
    "not_an_enum": [Row(name="a", count=1, note=None, colour="GREEN")],
    # Items after the first of their class are answered from themselves (attribute reads,
    # execution_lists.complete_objects): the same answers when a later one is unusual.
    "later_unusual": [
        Row(name="a", count=1, note="x", colour=Colour.RED),
        Row(name=7, count=2, note=None, colour=Colour.BLUE),  # an int as a String
        Row(name="c", count="many", note=None, colour=Colour.RED),  # refused by Int
        Row(name="d", count=4, note=3.5, colour="GREEN"),  # a float as a String; not an enum
        Row(name="e", count=5, colour=Colour.RED),  # no `note` at all
        Row(name=None, count=6, note=None, colour=Colour.RED),  # null in a non-null field
        Row(name="g", count=7, note=None, colour=Colour.BLUE),
    ],
    # An Int that is an int of 32 bits is answered as it is; any other goes to the scalar.
    "int_bounds": [
        Row(name="max", count=2**31 - 1, note=None, colour=Colour.RED),
        Row(name="min", count=-(2**31), note=None, colour=Colour.RED),
        Row(name="bool", count=True, note=None, colour=Colour.RED),
        Row(name="float", count=3.0, note=None, colour=Colour.RED),
        Row(name="over", count=2**31, note=None, colour=Colour.RED),
        Row(name="under", count=-(2**31) - 1, note=None, colour=Colour.RED),
    ],
    "other_classes": [
        Row(name="a", count=1, note=None, colour=Colour.RED),
        OtherRow(name="b", count=2, note=None, colour=Colour.BLUE),
        Row(name="c", count=3, note=None, colour=Colour.RED),
        OtherRow(name="d", count="four", note=None, colour=Colour.BLUE),
    ],
}


@strawberry.interface
class Keyed:
    key: strawberry.ID  # an interface's field: read from the row of each type's instances


@strawberry.type
class Ticket(Keyed):
    title: str
    flag: bool | None
    when: datetime | None


# As `Partner`'s fields are (app/schema/partners/row_fields.py): worked out from the
# instance's row when first read.
for _name in ("key", "title", "flag", "when"):
    setattr(Ticket, _name, _FromRow(_name, operator.attrgetter(_name)))


def ticket(row: Row, **known: Any) -> Ticket:
    made = Ticket.__new__(Ticket)
    made.__dict__.update(row=row, **known)
    return made


TICKETS = {
    "fine": [
        ticket(Row(key=f"k{i}", title=f"t{i}", flag=i % 2 == 0, when=datetime(2026, 1, i + 1)))
        for i in range(3)
    ],
    # What the scalars convert (an int as a String or an ID, an int as a Boolean).
    "converted": [ticket(Row(key=7, title=5, flag=0, when=None))],
    "null_in_non_null": [
        ticket(Row(key="k", title=None, flag=None, when=None)),
        ticket(Row(key="k2", title="fine", flag=True, when=None)),
    ],
    "refused_by_scalar": [ticket(Row(key="k", title="t", flag="yes", when="not a date"))],
    "missing_in_row": [ticket(Row(key="k", flag=None, when=None))],  # work_out raises
    "already_read": [ticket(Row(key="k", title="t", flag=None, when=None), title="kept")],
    # After the first item, the others of its class are answered straight from their row.
    "mixed": [
        ticket(Row(key="k1", title="t1", flag=True, when=datetime(2026, 1, 1))),
        ticket(Row(key=7, title=5, flag=0, when=None)),
        ticket(Row(key="k3", title="t3", flag=None, when=None), title="kept"),
        ticket(Row(key="k4", title="t4", flag=False, when=datetime(2026, 2, 1, 12, 30))),
        ticket(Row(key="k5", title="t5", flag=None, when=None), extra="set"),
    ],
    "later_null": [
        ticket(Row(key="k1", title="t1", flag=True, when=None)),
        ticket(Row(key="k2", title=None, flag=True, when=None)),
    ],
    "later_refused": [
        ticket(Row(key="k1", title="t1", flag=True, when=None)),
        ticket(Row(key="k2", title="t2", flag="yes", when=None)),
    ],
    "later_missing": [
        ticket(Row(key="k1", title="t1", flag=True, when=None)),
        ticket(Row(key="k2", flag=True, when=None)),
    ],
}


@strawberry.type
class Query:
    @strawberry.field
    def items(self, case: str) -> list[Item]:
        return ROWS[case]  # type: ignore[return-value]

    @strawberry.field
    def maybe_items(self, case: str) -> list[Item | None]:  # an item's error nulls it alone
        return [*ROWS[case], None]  # type: ignore[list-item]

    @strawberry.field
    def tickets(self, case: str) -> list[Ticket]:
        return TICKETS[case]

    @strawberry.field
    def maybe_tickets(self, case: str) -> list[Ticket | None]:  # an item's error nulls it
        return [*TICKETS[case], None]

    @strawberry.field
    def first_ticket(self, case: str) -> Ticket | None:
        return TICKETS[case][0]


def schemas() -> tuple[strawberry.Schema, strawberry.Schema]:
    plain = strawberry.Schema(query=Query)
    short = strawberry.Schema(query=Query, execution_context_class=ShortLeafExecutionContext)
    return plain, short


def answer(schema: strawberry.Schema, query: str) -> tuple[Any, list[tuple[str, Any]]]:
    result = asyncio.run(schema.execute(query))
    errors = sorted((e.message, e.path) for e in result.errors or [])
    return result.data, errors


@pytest.mark.parametrize("case", list(ROWS))
@pytest.mark.parametrize(
    "selection",
    [
        "name count note colour",
        "name note",
        "alias: name count",
        "name __typename",  # not a plain leaf: the whole object takes the full path
        "name broken",  # a getter that raises
        "shout",  # plain resolvers: a leaf, an object, a non-null object, one that raises
        "name detail { size label }",
        "strict { label size } count",
        "failing { size } shout",
        "withInfo detail { label }",
        "name details { size label } count",
        "name detail { later size } count",
        "badges { label size } name",  # objects with an interface: checked, then short
        "impostor { label } count",  # an object is_type_of refuses: graphql-core's error
        "details { ... on Detail { size } label }",  # a fragment in the object's selection
        "mixed { size label } name",  # items that are null, of another type, or fail
        "strictList { size label } count",
        "mixed { later size }",  # awaitable fields in the items of a list
    ],
)
def test_the_short_paths_answer_as_graphql_core_does(case: str, selection: str) -> None:
    plain, short = schemas()
    query = f'{{ items(case: "{case}") {{ {selection} }} }}'
    assert answer(short, query) == answer(plain, query)


@pytest.mark.parametrize("case", list(ROWS))
@pytest.mark.parametrize(
    "selection", ["name count note colour", "note alias: name", "shout count", "name broken"]
)
def test_items_answered_from_themselves_answer_as_graphql_core_does(
    case: str, selection: str
) -> None:
    """In a list of nullable items an unusual item is null on its own, and the items
    after it are still answered from themselves."""
    plain, short = schemas()
    query = f'{{ maybeItems(case: "{case}") {{ {selection} }} }}'
    assert answer(short, query) == answer(plain, query)


@pytest.mark.parametrize("case", list(TICKETS))
@pytest.mark.parametrize(
    "field",
    ["tickets", "maybeTickets", "firstTicket"],
)
@pytest.mark.parametrize(
    "selection",
    ["key title flag when", "title key", "alias: title other: title", "... on Keyed { key } flag"],
)
def test_fields_worked_out_from_a_row_answer_as_graphql_core_does(
    case: str, field: str, selection: str
) -> None:
    plain, short = schemas()
    query = f'{{ {field}(case: "{case}") {{ {selection} }} }}'
    assert answer(short, query) == answer(plain, query)


def test_a_page_of_plain_leaves_is_answered() -> None:
    _, short = schemas()
    data, errors = answer(short, '{ items(case: "fine") { name count note colour } }')
    assert errors == []
    assert data == {
        "items": [{"name": f"n{i}", "count": i, "note": None, "colour": "RED"} for i in range(3)]
    }


def test_every_plain_field_of_a_partner_comes_from_its_row() -> None:
    """`Partner.from_row` works each field out when first read (row_fields.FROM_ROW): a
    field added to the type without a way to get it from the row would fail to answer."""
    from app.schema.partners.row_fields import FROM_ROW
    from app.schema.partners.types import Partner

    definition = Partner.__strawberry_definition__  # type: ignore[attr-defined]
    plain = {f.python_name for f in definition.fields if f.base_resolver is None}
    assert plain - {"row"} == set(FROM_ROW)  # the row itself is kept as it is


def test_plans_outlive_the_request_only_where_nothing_can_change_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A document parsed once (the parser's cache) is planned once, whatever its
    variables; with `@include`/`@skip` on a variable, each request is planned for its
    own values, and answers as graphql-core does."""
    plain = strawberry.Schema(query=Query, extensions=[ParserCache])
    short = strawberry.Schema(
        query=Query,
        extensions=[ParserCache],
        execution_context_class=ShortLeafExecutionContext,
    )
    planned: list[str] = []
    real = ShortLeafExecutionContext._object_of

    def counted(self: ShortLeafExecutionContext, return_type: Any, details: Any) -> Any:
        planned.append(details[0].node.name.value)
        return real(self, return_type, details)

    monkeypatch.setattr(ShortLeafExecutionContext, "_object_of", counted)

    def both(query: str, variables: dict[str, Any]) -> Any:
        mine = asyncio.run(short.execute(query, variable_values=variables))
        theirs = asyncio.run(plain.execute(query, variable_values=variables))
        assert (mine.data, mine.errors) == (theirs.data, theirs.errors)
        return mine.data

    fixed = "query($case: String!) { items(case: $case) { name count detail { size } } }"
    for case in ("fine", "other_classes"):
        both(fixed, {"case": case})
    assert {"items", "detail"} <= set(planned)
    planned.clear()
    both(fixed, {"case": "fine"})
    assert planned == []  # the same document again: nothing worked out anew
    chosen = (
        'query($with: Boolean!) { items(case: "fine") { name count @include(if: $with) '
        "detail @skip(if: $with) { size } } }"
    )
    planned.clear()
    answers = [both(chosen, {"with": w}) for w in (True, False, True)]
    assert answers[0] == answers[2] != answers[1]
    assert "count" in answers[0]["items"][0] and "detail" not in answers[0]["items"][0]
    assert "detail" in answers[1]["items"][0] and "count" not in answers[1]["items"][0]
    assert planned.count("items") >= 3  # each request on its own


def test_plans_go_with_their_document() -> None:
    """Plans kept for a document go when it does: a client sending ever new documents
    (the parser's cache keeps the last 256 texts) leaves no plan behind."""
    from app.schema import execution

    short = strawberry.Schema(query=Query, execution_context_class=ShortLeafExecutionContext)
    gc.collect()
    before = len(execution._BY_OPERATION)
    for n in range(50):
        query = f'{{ items(case: "fine") {{ name n{n}: count detail {{ size }} }} }}'
        assert asyncio.run(short.execute(query)).errors is None
    gc.collect()
    assert len(execution._BY_OPERATION) == before


def test_a_document_that_goes_at_the_interpreters_exit_goes_quietly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """At the interpreter's exit a module's names are None by the time its last documents
    go: CI printed "Exception ignored in: gone … AttributeError: 'NoneType' object has no
    attribute 'get'" for each. The plans of a document let go of it without the name."""
    import sys

    from graphql import parse

    from app.schema import execution

    document = parse('{ items(case: "fine") { name } }')
    execution._plans_of(document.definitions[0], {})  # type: ignore[arg-type]
    ignored: list[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", ignored.append)
    kept = execution._BY_OPERATION
    monkeypatch.setattr(execution, "_BY_OPERATION", None)  # as the exit leaves it
    del document
    gc.collect()
    assert ignored == []
    assert all(ref() is not None for ref, _ in kept.values())
