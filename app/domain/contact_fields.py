"""Validation and normalisation of a partner's coordinates with the field libraries.

Pure functions of their input (no I/O, no network look-ups): email-validator without
deliverability checks, phonenumbers, pycountry, python-stdnum and the zoneinfo database.
"""

from __future__ import annotations

import functools
import importlib
import re
import zoneinfo
from functools import cache
from urllib.parse import urlsplit

import phonenumbers
import pycountry
from email_validator import EmailNotValidError, validate_email
from email_validator import syntax as _email_syntax
from stdnum import get_cc_module
from stdnum.exceptions import ValidationError as StdnumValidationError

from app.domain.messages import Message

# email-validator checks each character of a domain with unicodedata look-ups
# (`uts46_valid_char`, ~60% of `validate_email`); the answer depends on the character
# alone, so caching it changes no outcome: normalize_email 158 -> 69 µs.
_email_syntax.uts46_valid_char = functools.lru_cache(maxsize=4096)(_email_syntax.uts46_valid_char)
# The domain check (IDNA, label and special-use rules) is a pure function of the domain
# and two options, and returns a dict `validate_email` only reads; addresses of one
# company share a domain, so a bulk import checks each domain once (invalid domains
# raise, and are not cached).
_email_module = importlib.import_module("email_validator.validate_email")
_checked_domains = functools.lru_cache(maxsize=4096)(_email_syntax.validate_email_domain_name)
_email_module.validate_email_domain_name = _checked_domains  # type: ignore[attr-defined]

NO_VAT = "/"
"""Odoo's convention: a VAT of `/` means the partner has none (not subject to VAT)."""

_LANG = re.compile(
    r"^(?P<lang>[A-Za-z]{2,3})(?:[_-](?P<region>[A-Za-z]{2}|\d{3}))?(?P<variant>@[a-z]+)?$"
)
_VAT_PREFIX_FOR = {"GR": "EL"}


class FieldInvalid(ValueError):
    """The value cannot be accepted; the message says why, for the client."""


Checked = tuple[str, str, str | None]
"""("email", value, None) or ("phone", value, region): a check `check_ahead` can do."""
_CHECKED: dict[Checked, tuple[bool, str]] = {}
"""Answers worked out ahead, in other processes (a bulk import): (valid, normalised value
or the FieldInvalid message), as the functions below would answer them."""


def check_ahead(items: list[Checked]) -> list[tuple[Checked, tuple[bool, str]]]:
    """The answers of normalize_email / normalize_phone for these values (run in a worker
    process by a bulk import; `remember` them in the importing process)."""
    answers: list[tuple[Checked, tuple[bool, str]]] = []
    for item in items:
        kind, value, region = item
        try:
            answer = _check_email(value) if kind == "email" else _check_phone(value, region)
        except FieldInvalid as error:
            answers.append((item, (False, str(error))))
        else:
            answers.append((item, (True, answer)))
    return answers


def remember(answers: list[tuple[Checked, tuple[bool, str]]]) -> None:
    _CHECKED.update(answers)


def forget(items: list[Checked]) -> None:
    for item in items:
        _CHECKED.pop(item, None)


def _known(item: Checked) -> str | None:
    found = _CHECKED.get(item) if _CHECKED else None
    if found is None:
        return None
    if not found[0]:
        raise FieldInvalid(found[1])
    return found[1]


def normalize_email(value: str) -> str:
    known = _known(("email", value, None))
    return known if known is not None else _check_email(value)


def _check_email(value: str) -> str:
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise FieldInvalid(
            Message("'%(value)s' is not a valid email address: %(error)s", value=value, error=error)
        ) from None


def email_for_matching(email: str | None) -> str | None:
    return email.lower() if email else None


def normalize_phone(value: str, region: str | None) -> str:
    """E.164 when the number parses and is valid (the country gives the default region);
    otherwise the text as typed, so nothing the user entered is lost."""
    known = _known(("phone", value, region))
    return known if known is not None else _check_phone(value, region)


def _check_phone(value: str, region: str | None) -> str:
    text = value.strip()
    if not any(ch.isdigit() for ch in text):
        raise FieldInvalid(
            Message("'%(value)s' is not a phone number: it has no digits", value=value)
        )
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return text
    if phonenumbers.is_valid_number(number):
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return text


def phone_is_normalized(value: str | None) -> bool:
    """True when a stored phone is in E.164; false flags one kept as typed."""
    if not value or not value.startswith("+"):
        return False
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(value, None))
    except phonenumbers.NumberParseException:
        return False


def normalize_website(value: str) -> str:
    text = value.strip()
    if not text or any(ch.isspace() for ch in text):
        raise FieldInvalid(Message("'%(value)s' is not a web address", value=value))
    if "://" not in text:
        text = "https://" + text
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018  (raises ValueError on a bad port)
    except ValueError:
        raise FieldInvalid(Message("'%(value)s' is not a web address", value=value)) from None
    if parts.scheme not in ("http", "https") or not parts.hostname or "." not in parts.hostname:
        raise FieldInvalid(
            Message(
                "'%(value)s' is not a web address (expected e.g. https://example.com)", value=value
            )
        )
    return text


USER_ASSIGNED_COUNTRIES = {"XK": "Kosovo"}
"""Countries without an ISO 3166-1 code that registries use anyway: Kosovo's XK, a
user-assigned code (Odoo's `base.xk`, the EU's, SWIFT's), which pycountry lacks."""


@functools.lru_cache(maxsize=4096)
def normalize_country(value: str) -> str:
    code = value.strip().upper()
    if code in USER_ASSIGNED_COUNTRIES:
        return code
    if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
        raise FieldInvalid(
            Message("'%(value)s' is not an ISO 3166-1 alpha-2 country code", value=value)
        )
    return code


@functools.lru_cache(maxsize=1024)
def country_name(code: str) -> str:
    country = pycountry.countries.get(alpha_2=code)
    return str(country.name) if country is not None else USER_ASSIGNED_COUNTRIES.get(code, code)


@functools.lru_cache(maxsize=4096)
def normalize_state(value: str, country_code: str | None) -> str:
    """The ISO 3166-2 suffix (`CA` for US-CA); the state must belong to the country."""
    text = value.strip().upper()
    if country_code is None:
        raise FieldInvalid("a state needs a country")
    if "-" in text:
        prefix, _, text = text.partition("-")
        if prefix != country_code:
            raise FieldInvalid(
                Message(
                    "state '%(value)s' does not belong to country %(country_code)s",
                    value=value,
                    country_code=country_code,
                )
            )
    if pycountry.subdivisions.get(code=f"{country_code}-{text}") is None:
        raise FieldInvalid(
            Message(
                "'%(value)s' is not a state of country %(country_code)s",
                value=value,
                country_code=country_code,
            )
        )
    return text


def state_name(country_code: str, state_code: str) -> str:
    state = pycountry.subdivisions.get(code=f"{country_code}-{state_code}")
    return str(state.name) if state is not None else state_code


@functools.lru_cache(maxsize=4096)
def normalize_lang(value: str) -> str:
    """A locale such as `fr_FR` or `en_US` (also accepts `fr-fr`), Odoo's spelling."""
    match = _LANG.match(value.strip())
    if match is None:
        raise FieldInvalid(Message("'%(value)s' is not a language code like fr_FR", value=value))
    lang = match["lang"].lower()
    found = pycountry.languages.get(alpha_2=lang) if len(lang) == 2 else None
    if found is None:
        found = pycountry.languages.get(alpha_3=lang)
    if found is None:
        raise FieldInvalid(
            Message("'%(value)s': unknown language '%(lang)s'", value=value, lang=lang)
        )
    region = match["region"]
    if region is not None:
        region = region.upper()
        if not region.isdigit() and pycountry.countries.get(alpha_2=region) is None:
            raise FieldInvalid(
                Message("'%(value)s': unknown country '%(region)s'", value=value, region=region)
            )
        lang = f"{lang}_{region}"
    return lang + (match["variant"] or "")


@functools.lru_cache(maxsize=1024)
def language_name(code: str) -> str:
    lang = code.split("_")[0].split("@")[0]
    found = pycountry.languages.get(alpha_2=lang) if len(lang) == 2 else None
    found = found or pycountry.languages.get(alpha_3=lang)
    return str(found.name) if found is not None else code


@cache
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def normalize_tz(value: str) -> str:
    text = value.strip()
    if text not in _timezones():
        raise FieldInvalid(
            Message("'%(value)s' is not an IANA time zone like Europe/Brussels", value=value)
        )
    return text


@functools.lru_cache(maxsize=4096)
def normalize_vat(value: str, country_code: str | None) -> str:
    """Checked with python-stdnum for the country of its prefix, else the partner's country.

    Stored compact with its country prefix (`BE0477472701`); `/` means none. A VAT of a
    country stdnum has no rule for is kept as typed (upper-cased, spaces removed).
    """
    text = "".join(value.split()).upper()
    if text == NO_VAT:
        return NO_VAT
    if not text:
        raise FieldInvalid("an empty VAT number; send null to clear it or / for none")
    letters = text[:2]
    is_country = letters == "EL" or pycountry.countries.get(alpha_2=letters) is not None
    prefix = letters if letters.isalpha() and is_country else None
    cc = prefix or country_code
    if cc is None:
        return text
    module_cc = "GR" if cc == "EL" else cc
    try:
        module = get_cc_module(module_cc.lower(), "vat")
    except (ImportError, ValueError):
        module = None
    if module is None:
        return text
    try:
        compact = module.validate(text)
    # ValueError: Python's limit on integer conversion (4,300 digits), which some of
    # stdnum's checksums reach on a VAT longer than any (DEFAULT_MAX_TEXT stops them first).
    except (StdnumValidationError, ValueError) as error:
        where = f"for country {module_cc}" if prefix else f"for country {cc} (the partner's)"
        raise FieldInvalid(
            Message(
                "'%(value)s' is not a valid VAT number %(where)s: %(error)s",
                value=value,
                where=where,
                error=error,
            )
        ) from None
    compact = str(compact)
    shown_prefix = _VAT_PREFIX_FOR.get(module_cc, module_cc)
    if compact[:2].isalpha() and compact[:2] in (module_cc, shown_prefix):
        return compact
    return shown_prefix + compact


@cache
def _locales() -> tuple[tuple[str, str], ...]:
    """(code, name) of the locales the C library knows (`fr_BE`: "French (Belgium)"),
    kept to those `normalize_lang` accepts, by name."""
    import locale

    found: dict[str, str] = {}
    for alias in locale.locale_alias.values():
        code = alias.split(".")[0].split("@")[0]
        if not _LOCALE_CODE.fullmatch(code):
            continue
        try:
            code = normalize_lang(code)
        except FieldInvalid:
            continue
        region = code.split("_")[1]
        found[code] = f"{language_name(code)} ({country_name(region)})"
    return tuple(sorted(found.items(), key=lambda pair: (pair[1], pair[0])))


_LOCALE_CODE = re.compile(r"[a-z]{2,3}_[A-Z]{2}")


def languages(search: str | None = None) -> list[tuple[str, str]]:
    """(code, name) of every known locale, or of those whose code or name contains
    `search` (case-insensitive). A partner's `lang` may also be another valid locale."""
    needle = (search or "").strip().casefold()
    return [
        (code, name)
        for code, name in _locales()
        if not needle or needle in code.casefold() or needle in name.casefold()
    ]


def countries(search: str | None = None) -> list[tuple[str, str]]:
    """(code, name) of every country, or of those whose code or name contains `search`."""
    needle = (search or "").strip().casefold()
    found = [
        (str(c.alpha_2), str(c.name))
        for c in pycountry.countries
        if not needle or needle == str(c.alpha_2).casefold() or needle in str(c.name).casefold()
    ]
    return sorted(found, key=lambda pair: pair[1])


def forget_checked_values() -> None:
    """Empties the caches of the values checked as they were sent (the VATs, the email
    domains: a family's own domain names them): an erasure's notice does, in every
    process."""
    normalize_vat.cache_clear()
    _checked_domains.cache_clear()
