"""Standard names in a locale, from the standards' own translations: countries (ISO 3166-1),
subdivisions (ISO 3166-2), languages (ISO 639-3) and currencies (ISO 4217) from the
gettext catalogs that pycountry ships. No table here is kept by hand.

English is what app.domain.contact_fields says already. Every cache is keyed by a shipped
locale (a handful) and a known code (a few thousand at most), never by what a client sent.
"""

from __future__ import annotations

import functools
import gettext

import pycountry

from app.domain import contact_fields as cf
from app.locales import DEFAULT, LOCALES


@functools.lru_cache(maxsize=4 * len(LOCALES))
def _standard(domain: str, locale: str) -> gettext.NullTranslations:
    return gettext.translation(domain, pycountry.LOCALES_DIR, languages=[locale], fallback=True)


def _say(domain: str, english: str, locale: str) -> str:
    if locale == DEFAULT or locale not in LOCALES:
        return english
    return _standard(domain, locale).gettext(english)


def country_name(code: str, locale: str) -> str:
    """`DE`: "Germany", "Allemagne" in French; an unknown code is itself."""
    return _say("iso3166-1", cf.country_name(code), locale)


def state_name(country_code: str, state_code: str, locale: str) -> str:
    return _say("iso3166-2", cf.state_name(country_code, state_code), locale)


def language_name(code: str, locale: str) -> str:
    """`de` or `de_DE`: "German", "Allemand" in French."""
    return _say("iso639-3", cf.language_name(code), locale)


def currency_name(code: str, locale: str) -> str:
    currency = pycountry.currencies.get(alpha_3=code)
    return _say("iso4217", str(currency.name), locale) if currency is not None else code


@functools.lru_cache(maxsize=len(LOCALES))
def _countries(locale: str) -> tuple[tuple[str, str, str], ...]:
    """(code, name in locale, English name) of every country, by name in the locale."""
    found = [(code, country_name(code, locale), name) for code, name in cf.countries()]
    return tuple(sorted(found, key=lambda row: (row[1].casefold(), row[0])))


def countries(search: str | None, locale: str) -> list[tuple[str, str]]:
    """(code, name) of every country, or of those whose code is `search` or whose name in
    `locale` (or in English) contains it, case-insensitive."""
    if locale == DEFAULT:
        return cf.countries(search)
    return _matching(_countries(locale), search, whole_code=True)


def locale_name(code: str, locale: str) -> str:
    """`fr_BE`: "French (Belgium)", "Français (Belgique)" in French."""
    language, _, region = code.partition("_")
    if not region:
        return language_name(language, locale)
    return f"{language_name(language, locale)} ({country_name(region[:2], locale)})"


@functools.lru_cache(maxsize=len(LOCALES))
def _languages(locale: str) -> tuple[tuple[str, str, str], ...]:
    """(code, name in locale, English name) of every known locale, by name in the locale."""
    found = [(code, locale_name(code, locale), name) for code, name in cf.languages()]
    return tuple(sorted(found, key=lambda row: (row[1].casefold(), row[0])))


def languages(search: str | None, locale: str) -> list[tuple[str, str]]:
    """Like contact_fields.languages, named and searched in `locale` (and in English):
    "allem" finds German (Germany) in French."""
    if locale == DEFAULT:
        return cf.languages(search)
    return _matching(_languages(locale), search, whole_code=False)


def _matching(
    rows: tuple[tuple[str, str, str], ...], search: str | None, whole_code: bool
) -> list[tuple[str, str]]:
    """(code, name) of the rows whose name (in the locale or in English) contains
    `search`, or whose code is it (`whole_code`) or contains it."""
    needle = (search or "").strip().casefold()
    return [
        (code, name)
        for code, name, english in rows
        if not needle
        or (needle == code.casefold() if whole_code else needle in code.casefold())
        or needle in name.casefold()
        or needle in english.casefold()
    ]
