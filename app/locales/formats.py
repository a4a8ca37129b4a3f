"""Values formatted for a locale with Babel's CLDR data: amounts of money ("1 234,56 €"
in French, "€1,234.56" in English) and dates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from babel.dates import format_date
from babel.numbers import UnknownCurrencyError, format_currency, format_decimal

from app.locales import DEFAULT, LOCALES


def money(amount: Decimal, currency: str, locale: str) -> str:
    """`amount` in `currency` as people of `locale` write it."""
    try:
        return format_currency(amount, currency, locale=_cldr(locale))
    except (UnknownCurrencyError, ValueError):
        return f"{amount} {currency}"


def number(value: float | Decimal, locale: str, decimals: int = 0) -> str:
    """A count or a measure with the locale's separators ("12,345.5"; "12 345,5" in
    French), with exactly `decimals` digits after the separator."""
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    return format_decimal(value, format=pattern, locale=_cldr(locale))


def date(value: dt.date, locale: str) -> str:
    """A date in the locale's medium format ("5 déc. 2026", "Dec 5, 2026")."""
    return format_date(value, format="medium", locale=_cldr(locale))


def _cldr(locale: str) -> str:
    return locale if locale in LOCALES else DEFAULT
