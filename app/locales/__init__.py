"""The languages Partnerbook speaks: which locales it ships, picking one for a request, and
saying a message (app/domain/messages.py) in it from the gettext catalogs beside this file.

The catalogs are kept as `.po` (text, reviewed in diffs) under
`app/locales/<lang>/LC_MESSAGES/partnerbook.po` and compiled in memory with Babel's
`mofile` the first time a process needs a locale: nothing to build, so `pip install -e .`,
`pip install .` and a plain checkout behave alike. English is the source language: its
messages are the msgids themselves.
"""

from __future__ import annotations

import functools
import gettext
import io
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from app.domain.messages import Message

DIRECTORY = Path(__file__).resolve().parent
DOMAIN = "partnerbook"
DEFAULT = "en"
LOCALES = ("en", "fr", "de", "es", "nl")
"""Every locale a request may get: names of countries, languages and currencies and the
formats of numbers come from pycountry's and Babel's data for all of them."""
MESSAGE_LOCALES = ("fr",)
"""The locales with a catalog of Partnerbook's own messages (English needs none). The
others say Partnerbook's messages in English, and the standard names in their language."""

_REQUEST_LOCALE: ContextVar[str] = ContextVar("partnerbook_locale", default=DEFAULT)
"""The locale of the request being answered (set with the request's context), for code
that builds values without `info`, such as a type's `from_row`."""


def use(locale: str) -> None:
    """Makes `locale` the current request's (the rest of this task and the tasks it
    starts)."""
    _REQUEST_LOCALE.set(locale)


def current() -> str:
    return _REQUEST_LOCALE.get()


MAX_ACCEPT_LANGUAGE = 512
"""Characters of an Accept-Language header looked at; the rest is ignored."""
MAX_LANGUAGE_RANGES = 16
"""Language ranges of an Accept-Language header looked at; the rest are ignored."""
_MAX_TAG = 35  # RFC 5646's longest well-formed tags fit; longer ones are not locales


def pick(value: str | None) -> str | None:
    """The shipped locale that a client's `locale` (`fr`, `fr-FR`, `fr_BE`) names, or None."""
    if not value or len(value) > _MAX_TAG:
        return None
    return _pick(value.strip().replace("-", "_").lower())


@functools.lru_cache(maxsize=256)
def _pick(tag: str) -> str | None:
    # Keyed by a bounded, normalised tag; the cache is bounded too.
    try:
        parsed = Locale.parse(tag)
    except (ValueError, UnknownLocaleError, TypeError):
        return None
    return parsed.language if parsed.language in LOCALES else None


def negotiate(accept_language: str | None) -> str:
    """The shipped locale an Accept-Language header prefers most (q-values honoured),
    English when it names none. Only the first MAX_ACCEPT_LANGUAGE characters and
    MAX_LANGUAGE_RANGES ranges are read: a huge header costs no more than a small one."""
    if not accept_language:
        return DEFAULT
    ranges: list[tuple[float, int, str]] = []
    for index, item in enumerate(accept_language[:MAX_ACCEPT_LANGUAGE].split(",")):
        if index >= MAX_LANGUAGE_RANGES:
            break
        tag, _, params = item.strip().partition(";")
        quality = _quality(params)
        if tag and quality > 0:
            ranges.append((-quality, index, tag.strip()))
    for _, _, tag in sorted(ranges):
        found = pick(tag)
        if found is not None:
            return found
    return DEFAULT


def _quality(params: str) -> float:
    name, _, value = params.strip().partition("=")
    if name.strip().lower() != "q":
        return 1.0
    try:
        quality = float(value.strip()[:5])
    except ValueError:
        return 0.0
    return quality if 0.0 <= quality <= 1.0 else 0.0


def from_environment(environ: Mapping[str, str]) -> str:
    """The locale of a command-line run: LANGUAGE, LC_ALL, LC_MESSAGES, then LANG, as
    gettext reads them (`fr_FR.UTF-8`: fr); English when none names a shipped locale."""
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(name, "")
        for entry in value.split(":")[:MAX_LANGUAGE_RANGES]:
            found = pick(entry.split(".")[0].split("@")[0])
            if found is not None:
                return found
        if value:
            break  # the first variable set decides, as for gettext
    return DEFAULT


@functools.lru_cache(maxsize=len(LOCALES))
def translations(locale: str) -> gettext.NullTranslations:
    """Partnerbook's messages in `locale` (a shipped one): its `.po` compiled in memory."""
    if locale not in MESSAGE_LOCALES:
        return gettext.NullTranslations()
    path = DIRECTORY / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as po:
        catalog = read_po(po, locale=locale, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def translate(text: str, locale: str) -> str:
    """`text` said in `locale`: a Message's template looked up and filled with its params
    (themselves translated when they are messages); a plain string looked up as it is.
    Text without a translation stays English."""
    if locale == DEFAULT or locale not in MESSAGE_LOCALES:
        return str.__str__(text)
    catalog = translations(locale)
    if isinstance(text, Message):
        template = catalog.gettext(text.template)
        if not text.params:
            return template
        try:
            return template % _translated(text.params, locale)
        except (KeyError, ValueError, TypeError):  # a broken translation: say it in English
            return str.__str__(text)
    return catalog.gettext(text)


def _translated(params: Mapping[str, Any], locale: str) -> dict[str, Any]:
    return {
        name: translate(value, locale) if isinstance(value, Message) else value
        for name, value in params.items()
    }
