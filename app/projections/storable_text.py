"""Makes the text a projection writes storable, at the one point every table writes
through: the cursor's adapters. Each string (in a column, an array or a jsonb value) has
its NUL and lone surrogates replaced by U+FFFD (`app.domain.text.storable`).

The projector turns this on only for a batch that failed without it: storable text is
left as it is, so the rows are the same either way, and a rebuild (which meets the same
event, fails the same way and retries the same way) writes what the live projector
wrote. The ordinary path keeps psycopg's C dumpers (a Python dumper a string would cost
a rebuild ~15%)."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation, localcontext
from typing import Any

from psycopg import Cursor
from psycopg.abc import Buffer, Dumper
from psycopg.types import string
from psycopg.types.json import set_json_dumps

from app.domain.text import storable


def _storable_dumper(base: type[Dumper]) -> type[Dumper]:
    def dump(self: Dumper, obj: str) -> Buffer | None:
        return base.dump(self, storable(obj))

    return type(f"Storable{base.__name__}", (base,), {"dump": dump})


_STR_DUMPERS = [
    # The order of psycopg's own registration: the last one of a format is its default.
    _storable_dumper(base)
    for base in (
        string.StrBinaryDumperName,
        string.StrBinaryDumperVarchar,
        string.StrBinaryDumper,
        string.StrDumperName,
        string.StrDumperVarchar,
        string.StrDumper,
        string.StrDumperUnknown,
    )
]


_NUMERIC_SCALE = 16_383
"""Decimals PostgreSQL's `numeric` holds."""


def storable_amount(value: Any) -> Any:
    """An amount of an event (a decimal string) as `numeric` can hold it: one with more
    decimals than `numeric` has (older code accepted `1E-99999`) is rounded to the
    nearest value it holds; any other value is returned as it is (the domain refuses
    more than 6 decimals today, so this changes nothing written since)."""
    if not isinstance(value, str) or ("e-" not in value.lower() and len(value) < 1000):
        return value
    try:
        amount = Decimal(value)
    except InvalidOperation:
        return value
    exponent = amount.as_tuple().exponent
    if not amount.is_finite() or not isinstance(exponent, int) or exponent >= -_NUMERIC_SCALE:
        return value
    with localcontext() as context:
        context.prec = _NUMERIC_SCALE + 20  # |amount| < 1e15: every kept digit exact
        rounded = round(amount, _NUMERIC_SCALE)
    return "0" if rounded == 0 else format(rounded, "f").rstrip("0").rstrip(".")


def storable_value(value: Any) -> Any:
    """`value` (JSON-like: dicts, lists, strings, numbers) with every string, keys
    included, made storable."""
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, dict):
        return {storable_value(k): storable_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [storable_value(v) for v in value]
    return value


def _storable_json(value: Any) -> str:
    return json.dumps(storable_value(value))


def write_storable_text(curs: Cursor[Any]) -> None:
    """From now on, whatever text `curs` sends is storable (this cursor only)."""
    for dumper in _STR_DUMPERS:
        curs.adapters.register_dumper(str, dumper)
    set_json_dumps(_storable_json, curs)
