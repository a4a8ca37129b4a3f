"""How much one argument value holds (its longest list, filter leaves and nesting),
measured without recursion, for literals and for variables as sent."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import ListValueNode, NullValueNode, ObjectValueNode, VariableNode

COMBINATORS = frozenset({"and", "or", "not"})
"""Input fields that nest one filter in another."""

FILTER_FIELD = "filter"
"""Arguments and input fields of this name are filters: their leaves and nesting count."""

CAP = 10**15
"""Counts saturate here: a fragment spread twice per level doubles them at every level,
and the limits are far below."""


def cap(value: int) -> int:
    return value if value < CAP else CAP


@dataclass
class ValueSize:
    """What one argument value holds: its longest list, its filter leaves (every scalar
    and every list item inside a filter), how deep `and`/`or`/`not` nest in it, and the
    length of its bulk list (not in `longest`)."""

    longest: int = 0
    leaves: int = 0
    nesting: int = 0
    bulk: int = 0

    def include(self, inner: ValueSize, depth: int) -> None:
        """The size of a variable met inside this value, `depth` combinators deep."""
        self.longest = max(self.longest, inner.longest)
        self.leaves = cap(self.leaves + inner.leaves)
        self.nesting = max(self.nesting, depth + inner.nesting)
        self.bulk = max(self.bulk, inner.bulk)


_CONTAINERS = (dict, list, ObjectValueNode, ListValueNode, VariableNode)


def measure_value(
    value: Any,
    *,
    in_filter: bool = False,
    bulk: str | None = None,
    counted: bool = True,
    variable: Callable[[str, bool, bool, bool], ValueSize | None] | None = None,
) -> ValueSize:
    """The size of an argument value: a literal (AST) or what a client sent as a variable
    (plain JSON), without recursion, so no nesting can exhaust the stack. `bulk` names
    the top-level list whose own length is not counted (its items' lists are); `counted`
    False: the value is that list itself (a variable sent for it). `variable(name,
    in_filter, top, counted)` sizes a variable met inside a literal: the whole argument
    (`top`), that list (`counted` False: `{rows: $rows}`) or anything else."""
    size = ValueSize()
    # (value, inside a filter, combinators above, top-level object, list length counts)
    stack: list[tuple[Any, bool, int, bool, bool]] = [(value, in_filter, 0, True, counted)]
    while stack:
        node, filtering, depth, top, counted = stack.pop()
        items: Iterable[tuple[str, Any]] | None = None
        elements: list[Any] | None = None
        if isinstance(node, VariableNode):
            inner = variable(node.name.value, filtering, top, counted) if variable else None
            if inner is not None:
                size.include(inner, depth)
            continue
        if isinstance(node, ObjectValueNode):
            items = ((f.name.value, f.value) for f in node.fields)
        elif isinstance(node, Mapping):
            items = ((str(k), v) for k, v in node.items())
        elif isinstance(node, ListValueNode):
            elements = list(node.values)
        elif isinstance(node, list):
            elements = node
        elif node is None or isinstance(node, NullValueNode):
            continue
        elif filtering:
            size.leaves = cap(size.leaves + 1)
            continue
        else:
            continue
        if elements is not None:
            if counted:
                size.longest = max(size.longest, len(elements))
            else:
                size.bulk = max(size.bulk, len(elements))
            # Scalars are most of a large list: counted here, only containers stacked.
            containers = [e for e in elements if isinstance(e, _CONTAINERS)]
            if filtering:
                if isinstance(node, list):
                    nulls = elements.count(None)
                else:
                    nulls = sum(1 for e in elements if isinstance(e, NullValueNode))
                scalars = len(elements) - len(containers) - nulls
                size.leaves = cap(size.leaves + scalars)
            stack.extend((e, filtering, depth, False, True) for e in containers)
            continue
        assert items is not None
        for key, child in items:
            if not filtering and key == FILTER_FIELD:
                stack.append((child, True, 0, False, True))
                continue
            nested = depth + 1 if filtering and key in COMBINATORS else depth
            size.nesting = max(size.nesting, nested)
            stack.append((child, filtering, nested, False, not (top and key == bulk)))
    return size
