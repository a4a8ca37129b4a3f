"""`dataclass_row`: psycopg's `class_row` for plain dataclasses, without calling `__init__`.

`class_row(cls)` builds each row as `cls(**dict(zip(names, values)))`. For a frozen
dataclass of ~50 fields that costs ~25 µs a row (a keyword call and one
`object.__setattr__` per field): 1.3 ms for a page of 50 partners. Filling the new
object's `__dict__` directly gives the same object (equal, same hash, defaults from the
class) in ~4 µs. Only for dataclasses whose `__init__` does nothing else: no
`__post_init__`, no `__slots__`, no default factories, no init-only or `init=False`
fields; other classes get `class_row`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, TypeVar

from psycopg.rows import BaseRowFactory, RowMaker, class_row, no_result

T = TypeVar("T")


def _plain(cls: type[Any]) -> bool:
    if not dataclasses.is_dataclass(cls) or hasattr(cls, "__post_init__"):
        return False
    if "__slots__" in cls.__dict__ or not hasattr(cls, "__dict__"):
        return False
    if len(dataclasses.fields(cls)) != len(cls.__dataclass_fields__):
        return False  # init-only variables (or class variables): leave them to __init__
    return all(f.init and f.default_factory is dataclasses.MISSING for f in dataclasses.fields(cls))


_FACTORIES: dict[type[Any], BaseRowFactory[Any]] = {}


def dataclass_row(cls: type[T]) -> BaseRowFactory[T]:
    """A row factory building `cls` instances from columns named as its fields."""
    factory = _FACTORIES.get(cls)
    if factory is None:
        factory = _FACTORIES[cls] = _make_factory(cls) if _plain(cls) else class_row(cls)
    return factory


def _make_factory(cls: type[T]) -> BaseRowFactory[T]:
    fields = cls.__dataclass_fields__  # type: ignore[attr-defined]
    required = {n for n, f in fields.items() if f.default is dataclasses.MISSING}
    new = object.__new__
    # Column names checked once per distinct result shape (a statement's columns are the
    # same every time): decoding and checking ~50 names cost ~20 µs a query.
    checked: dict[tuple[str, tuple[bytes | None, ...]], list[str]] = {}

    def column_names(result: Any, encoding: str) -> list[str]:
        raw = (encoding, tuple(result.fname(i) for i in range(result.nfields)))
        names = checked.get(raw)
        if names is not None:
            return names
        names = [(name or b"").decode(encoding) for name in raw[1]]
        unknown = [n for n in names if n not in fields]
        missing = required.difference(names)
        if unknown or missing:  # what `cls(**...)` would refuse
            raise TypeError(
                f"{cls.__name__} rows: unknown columns {unknown}, missing fields {sorted(missing)}"
            )
        if len(checked) < 64:
            checked[raw] = names
        return names

    def factory(cursor: Any) -> RowMaker[T]:
        result = cursor.pgresult
        if not result or not result.nfields:
            return no_result
        names = column_names(result, cursor._encoding)

        def make(values: Sequence[Any]) -> T:
            row = new(cls)
            row.__dict__.update(zip(names, values, strict=True))
            return row

        return make

    return factory
