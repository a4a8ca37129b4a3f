"""Countries and states in the terms of an Odoo contacts export: Odoo's names, external
ids and display names read into ISO codes, and the state names the export writes so that
the import reads them back as the same state (app/domain/odoo_columns.py reads the rows)."""

from __future__ import annotations

import functools
import re
from typing import Any

import pycountry

from app.domain.contact_fields import USER_ASSIGNED_COUNTRIES

COUNTRY_XIDS = {"uk": "GB"}
"""Odoo's country external ids (`base.xx`, res_country_data.xml) are the lower-cased
ISO code, except these."""

ODOO_COUNTRY_NAMES = {
    "saint barthélémy": "BL",
    "congo (drc)": "CD",
    "congo (republic)": "CG",
    "cape verde": "CV",
    "falkland islands": "FK",
    "micronesia": "FM",
    "macau": "MO",
    "pitcairn islands": "PN",
    "state of palestine": "PS",
    "são tomé and príncipe": "ST",
    "usa minor outlying islands": "UM",
    "virgin islands (british)": "VG",
    "virgin islands (usa)": "VI",
    "kosovo": "XK",
}
"""Odoo's country names (res_country_data.xml), casefolded, that pycountry does not know
by any of its names; Odoo's other names are pycountry's."""

_STATE_SUFFIX = re.compile(r"\s*\(([A-Za-z]{2})(?:-([A-Za-z0-9]{1,3}))?\)\s*$")
"""`(US)` of Odoo's display name `California (US)`; `(BD-13)` of `Dhaka (BD-13)`, the
label of a subdivision whose name another one of its country has (`state_label`)."""
_SUBDIVISIONS: Any = pycountry.subdivisions  # its look-ups are untyped


@functools.lru_cache(maxsize=1024)
def country_code(value: str, *, by_xid: bool = False) -> str | None:
    """An ISO code from a country name (pycountry's or Odoo's), ISO code (alpha-2 or 3) or
    `base.xx` external id; Kosovo's user-assigned XK too."""
    text = value.strip()
    if not text:
        return None
    if by_xid or text.startswith("base."):
        suffix = text.removeprefix("base.").lower()
        code = COUNTRY_XIDS.get(suffix, suffix.upper())
        return code if _is_country(code) else None
    if text.upper() in USER_ASSIGNED_COUNTRIES:
        return text.upper()
    if (odoo := ODOO_COUNTRY_NAMES.get(text.casefold())) is not None:
        return odoo
    try:
        return str(pycountry.countries.lookup(text).alpha_2)
    except LookupError:
        return None


def _is_country(code: str) -> bool:
    return code in USER_ASSIGNED_COUNTRIES or pycountry.countries.get(alpha_2=code) is not None


def country_xid(code: str) -> str:
    """Odoo's external id of a country: `base.be`, `base.uk` for GB."""
    reverse = {v: k for k, v in COUNTRY_XIDS.items()}
    return f"base.{reverse.get(code, code.lower())}"


@functools.lru_cache(maxsize=1024)
def state_code(value: str, country: str | None) -> str | None:
    """The ISO 3166-2 suffix from a code (`CA`, `US-CA`) or a name, Odoo's display name
    `California (US)` and our `Dhaka (BD-13)` (see `state_label`) included. A name that
    several subdivisions of the country bear means the first of `_states_named`."""
    text = value.strip()
    match = _STATE_SUFFIX.search(text)
    if match is not None:
        text = text[: match.start()].strip()
        named, given = match.group(1).upper(), match.group(2)
        if given is not None:
            # The code decides, if it is the row's country's and has the name given.
            code = given.upper()
            sub = _SUBDIVISIONS.get(code=f"{named}-{code}")
            if country not in (None, named) or sub is None:
                return None
            return code if str(sub.name).casefold() == text.casefold() else None
        country = country or named
    if not text or country is None:
        return None
    upper = text.upper().removeprefix(f"{country}-")
    if _SUBDIVISIONS.get(code=f"{country}-{upper}") is not None:
        return upper
    codes = _states_named(country).get(text.casefold())
    return codes[0] if codes else None


@functools.lru_cache(maxsize=256)
def _states_named(country: str) -> dict[str, list[str]]:
    """A country's subdivision names (casefolded) -> the codes bearing each. Where several
    share a name (Dhaka: the division BD-C and its district BD-13), the one above the
    others (no parent) comes first, then by code."""
    subs = sorted(
        _SUBDIVISIONS.get(country_code=country) or (),
        key=lambda s: (s.parent_code is not None, str(s.code)),
    )
    named: dict[str, list[str]] = {}
    for sub in subs:
        named.setdefault(str(sub.name).casefold(), []).append(str(sub.code).split("-", 1)[1])
    return named


def state_label(country: str, state: str) -> str:
    """The `state_id` the export writes: Odoo's display name `Dhaka (BD)`, which the import
    (and Odoo) read by name; a subdivision whose name an earlier one of `_states_named`
    also bears gets its code instead of the country's, `Dhaka (BD-13)`, so that export ->
    import keeps it (the name alone read as BD-C)."""
    sub = _SUBDIVISIONS.get(code=f"{country}-{state}")
    if sub is None:
        return f"{state} ({country})"
    name = str(sub.name)
    if _states_named(country)[name.casefold()][0] == state:
        return f"{name} ({country})"
    return f"{name} ({country}-{state})"
