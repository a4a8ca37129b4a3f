"""Checking and normalising the values given for a partner's fields, field by field: every
problem is reported at once, under the API's name of its field."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from uuid import UUID

from app.domain import contact_fields as cf
from app.domain.catalog import Invalid, normalize_money
from app.domain.errors import DomainError, ErrorCode, FieldError
from app.domain.messages import Message
from app.domain.partner_fields import (
    ADDRESS_TYPES,
    FLAG_FIELDS,
    TERM_FIELDS,
    TEXT_FIELDS,
    input_name,
)

MAX_TEXT = {"notes": 20_000}
DEFAULT_MAX_TEXT = 500


def normalize_values(
    values: Mapping[str, Any], *, region: str | None, country: str | None = None
) -> dict[str, Any]:
    """Validates and normalises every given field, reporting all problems at once."""
    errors: list[FieldError] = []
    clean: dict[str, Any] = {}

    def fail(field: str, message: str) -> None:
        errors.append(FieldError((input_name(field),), ErrorCode.VALIDATION, message))

    country_code = country
    if values.get("country_code") is not None:
        try:
            country_code = cf.normalize_country(str(values["country_code"]))
        except cf.FieldInvalid as error:
            fail("country_code", str(error))
            country_code = None
    elif "country_code" in values:
        country_code = None

    for field, value in values.items():
        if field == "country_code" and value is not None:
            if country_code is not None:
                clean[field] = country_code
            continue
        if value is None:
            if field in ("type", *FLAG_FIELDS):
                fail(field, Message("%(value)s cannot be cleared", value=input_name(field)))
            clean[field] = None
            continue
        try:
            clean[field] = _normalize_one(field, value, region=region, country=country_code)
        except cf.FieldInvalid as error:
            fail(field, str(error))
    if errors:
        raise DomainError(errors)
    return clean


def _normalize_one(field: str, value: Any, *, region: str | None, country: str | None) -> Any:
    if field == "tag_ids":
        if not isinstance(value, list | tuple):
            raise cf.FieldInvalid("tagIds must be a list of tag ids")
        return sorted({_uuid_text(v, field) for v in value})
    if field in FLAG_FIELDS:
        if not isinstance(value, bool):
            raise cf.FieldInvalid(
                Message("%(value)s must be true or false", value=input_name(field))
            )
        return value
    if not isinstance(value, str):
        raise cf.FieldInvalid(Message("%(value)s must be text", value=input_name(field)))
    # Every text, the ones normalised below too: a phone, website or VAT kept as typed had
    # no limit, and a 6,000-digit phone stopped the projector (a btree index row holds at
    # most 2,704 bytes; tests/security/test_hostile_contact_values.py).
    text = value.strip()
    limit = MAX_TEXT.get(field, DEFAULT_MAX_TEXT)
    if len(text) > limit:
        raise cf.FieldInvalid(
            Message(
                "%(value)s is longer than %(limit)s characters",
                value=input_name(field),
                limit=limit,
            )
        )
    if "\x00" in text:
        raise cf.FieldInvalid(
            Message("%(value)s contains a NUL character", value=input_name(field))
        )
    if field in TEXT_FIELDS:
        return text or None
    match field:
        case "type":
            if value not in ADDRESS_TYPES:
                raise cf.FieldInvalid(
                    Message("type must be one of %(address_types)s", address_types=ADDRESS_TYPES)
                )
            return value
        case "parent_id" | "industry_id" | "salesperson_id":
            return _uuid_text(value, field)
        case "email":
            return cf.normalize_email(value)
        case "phone" | "mobile":
            return cf.normalize_phone(value, region)
        case "website":
            return cf.normalize_website(value)
        case "lang":
            return cf.normalize_lang(value)
        case "tz":
            return cf.normalize_tz(value)
        case "country_code":
            return cf.normalize_country(value)
        case "state_code":
            return cf.normalize_state(value, country)
        case "vat":
            return cf.normalize_vat(value, country)
    raise cf.FieldInvalid(Message("unknown field %(field)s", field=field))


_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
"""An id as str(UUID(...)) writes it: already normalised."""


def _uuid_text(value: Any, field: str) -> str:
    if isinstance(value, str) and _CANONICAL_UUID.fullmatch(value):
        return value
    try:
        return str(UUID(str(value)))
    except ValueError:
        raise cf.FieldInvalid(
            Message("%(value)s: '%(value2)s' is not an id", value=input_name(field), value2=value)
        ) from None


def normalize_terms(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Validates a patch of commercial terms (ids of catalog entries, a credit limit)."""
    errors: list[FieldError] = []
    clean: dict[str, Any] = {}
    for field, value in changes.items():
        try:
            if field not in TERM_FIELDS:
                raise cf.FieldInvalid(
                    Message("%(value)s is not a commercial term", value=input_name(field))
                )
            if value is None:
                clean[field] = None
            elif field == "credit_limit":
                clean[field] = _credit_limit(value)
            else:
                clean[field] = _uuid_text(value, field)
        except cf.FieldInvalid as error:
            errors.append(FieldError((input_name(field),), ErrorCode.VALIDATION, str(error)))
    if errors:
        raise DomainError(errors)
    return clean


def _credit_limit(value: Any) -> dict[str, str]:
    try:
        money = normalize_money(value)
    except Invalid as error:
        raise cf.FieldInvalid(Message("creditLimit %(error)s", error=error)) from None
    assert money is not None
    return money
