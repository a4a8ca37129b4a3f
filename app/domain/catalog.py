"""Catalog entries: the small lists partners point to (industries, payment terms,
pricelists, delivery methods, salespeople, accounts, fiscal positions)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import pycountry
from babel.numbers import get_currency_precision
from eventsourcing.domain import Aggregate

from app.domain import contact_fields as cf
from app.domain.archiving import Archivable, WasArchived, WasRestored
from app.domain.audited import Audit, AuditedCreated
from app.domain.changes import ValuesChanged, changed_fields, trigger_if_any
from app.domain.errors import DomainError, ErrorCode, FieldError, archived
from app.domain.messages import Message

CATALOGS = (
    "INDUSTRY",
    "PAYMENT_TERM",
    "PRICELIST",
    "DELIVERY_METHOD",
    "SALESPERSON",
    "ACCOUNT",
    "FISCAL_POSITION",
)
LINE_KINDS = ("BALANCE", "PERCENT", "FIXED")
ACCOUNT_TYPES = ("RECEIVABLE", "PAYABLE")
MAX_LINES = 20


class Invalid(ValueError):
    """A catalog value that cannot be accepted (message for the client): a template and
    its values, e.g. `Invalid("line %(index)s is not a line", index=3)`."""

    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(Message(message, **params) if params else message)


def _text(value: Any, limit: int = 200) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise Invalid("must be text")
    text = value.strip()
    if len(text) > limit:
        raise Invalid("is longer than %(limit)s characters", limit=limit)
    return text or None


def normalize_currency(value: Any) -> str:
    code = str(value).strip().upper()
    if len(code) != 3 or pycountry.currencies.get(alpha_3=code) is None:
        raise Invalid("'%(value)s' is not an ISO 4217 currency code", value=value)
    return code


MAX_DECIMALS = 6
"""Decimals an amount or a percentage may have (Odoo's precision for payment terms; a
currency's minor unit has at most 4). PostgreSQL's `numeric` holds 16,383: an event with
more could not be projected."""


def normalize_amount(value: Any, *, minimum: Decimal | None = Decimal(0)) -> str:
    """Amounts are kept as decimal strings: exact, and plain JSON in events."""
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise Invalid("'%(value)s' is not an amount", value=value) from None
    # `adjusted()` reads the exponent without arithmetic: `abs()` of 1e999999999 raised
    # decimal.Overflow (past the context's Emax), an INTERNAL error.
    if not amount.is_finite() or (amount != 0 and amount.adjusted() >= 15):
        raise Invalid("'%(value)s' is not a usable amount", value=value)
    if decimals(amount) > MAX_DECIMALS:
        raise Invalid("at most %(places)s decimals", places=MAX_DECIMALS)
    if amount == 0:
        amount = Decimal(0)  # 0E-99999 and -0: plain zero
    if minimum is not None and amount < minimum:
        raise Invalid("must be at least %(minimum)s", minimum=minimum)
    return str(amount.quantize(Decimal("0.01")) if amount == amount.to_integral() else amount)


def decimals(amount: Decimal) -> int:
    """The decimals `amount` needs (trailing zeros do not count): 0 for 1E+3 or 0E-9."""
    if amount == 0:
        return 0
    _, digits, exponent = amount.as_tuple()
    assert isinstance(exponent, int)
    trailing = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return max(0, -(exponent + trailing))


def check_smallest_unit(amount: str, currency: str) -> None:
    """Refuses an amount finer than its currency's smallest unit (0.5 JPY, 4.999 EUR): no
    one can pay it. The unit is Babel's (CLDR), as for due dates (payment_schedule.py)."""
    unit = Decimal(1).scaleb(-get_currency_precision(currency))
    value = Decimal(amount)
    if value != value.quantize(unit):
        raise Invalid(
            "%(amount)s is finer than %(currency)s's smallest unit, %(unit)s",
            amount=amount,
            currency=currency,
            unit=unit,
        )


def normalize_money(value: Any) -> dict[str, str] | None:
    """An amount in a currency, in whole units of that currency."""
    if value is None:
        return None
    if not isinstance(value, Mapping) or set(value) != {"amount", "currency"}:
        raise Invalid("needs an amount and a currency")
    amount = normalize_amount(value["amount"])
    currency = normalize_currency(value["currency"])
    check_smallest_unit(amount, currency)
    return {"amount": amount, "currency": currency}


def _int(value: Any, name: str, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise Invalid(
            "%(name)s must be a whole number from %(low)s to %(high)s",
            name=name,
            low=low,
            high=high,
        )
    return value


def _discount(raw: Mapping[str, Any], index: int) -> dict[str, Any]:
    """A line's early-payment discount (none: nothing). Not on a FIXED line, as in Odoo:
    "You can't mix fixed amount with early payment percentage"."""
    if raw.get("discount_percent") is None:
        return {}
    if raw.get("kind") == "FIXED":
        raise Invalid(
            "line %(n)s: a FIXED line takes no early-payment discount (discountPercent)", n=index
        )
    discount = Decimal(normalize_amount(raw["discount_percent"]))
    if not 0 < discount < 100:
        raise Invalid("line %(n)s: discountPercent must be between 0 and 100", n=index)
    return {
        "discount_percent": str(discount),
        "discount_days": _int(
            raw.get("discount_days") or 0, f"line {index}: discountDays", 0, 3660
        ),
    }


def normalize_lines(value: Any) -> list[dict[str, Any]]:
    """Payment term lines. No lines: the balance is due at once. Without a BALANCE line the
    PERCENT lines must total exactly 100 %; with one (it must be the last) they stay
    under 100 %. An early-payment discount is for PERCENT and BALANCE lines only."""
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_LINES:
        raise Invalid("must be a list of at most %(max_lines)s lines", max_lines=MAX_LINES)
    lines: list[dict[str, Any]] = []
    for index, raw in enumerate(value, start=1):
        if not isinstance(raw, Mapping):
            raise Invalid("line %(index)s is not a line", index=index)
        kind = raw.get("kind")
        if kind not in LINE_KINDS:
            raise Invalid("line %(n)s: kind must be one of %(kinds)s", n=index, kinds=LINE_KINDS)
        line: dict[str, Any] = {
            "kind": kind,
            "value": None,
            "days": _int(raw.get("days", 0) or 0, f"line {index}: days", 0, 3660),
            "end_of_month": bool(raw.get("end_of_month", False)),
            "discount_percent": None,
            "discount_days": None,
        }
        if kind == "BALANCE":
            if raw.get("value") not in (None, 0, "0"):
                raise Invalid("line %(index)s: a BALANCE line takes no value", index=index)
        else:
            if raw.get("value") is None:
                raise Invalid("line %(n)s: a %(kind)s line needs a value", n=index, kind=kind)
            amount = Decimal(normalize_amount(raw["value"]))
            if amount <= 0 or (kind == "PERCENT" and amount > 100):
                raise Invalid(
                    "line %(index)s: value must be above 0 (and at most 100 for PERCENT)",
                    index=index,
                )
            line["value"] = str(amount)
        line.update(_discount(raw, index))
        lines.append(line)
    balances = [i for i, line in enumerate(lines) if line["kind"] == "BALANCE"]
    percent = sum(Decimal(line["value"]) for line in lines if line["kind"] == "PERCENT")
    if len(balances) > 1 or (balances and balances[0] != len(lines) - 1):
        raise Invalid("there can be one BALANCE line, and it must be the last")
    if lines and not balances:
        if any(line["kind"] == "FIXED" for line in lines):
            raise Invalid("FIXED amounts need a BALANCE line after them")
        if percent != 100:
            raise Invalid(
                "the PERCENT lines total %(percent)s %%; they must total 100 %%", percent=percent
            )
    elif percent >= 100:
        raise Invalid(
            "the PERCENT lines total %(percent)s %%; with a BALANCE line stay under 100 %%",
            percent=percent,
        )
    return lines


def _email(value: Any) -> str | None:
    if value is None:
        return None
    try:
        return cf.normalize_email(str(value))
    except cf.FieldInvalid as error:
        raise Invalid(str(error)) from None


def _tz(value: Any) -> str | None:
    if value is None:
        return None
    try:
        return cf.normalize_tz(str(value))
    except cf.FieldInvalid as error:
        raise Invalid(str(error)) from None


def _country(value: Any) -> str | None:
    if value is None:
        return None
    try:
        return cf.normalize_country(str(value))
    except cf.FieldInvalid as error:
        raise Invalid(str(error)) from None


def _account_code(value: Any) -> str | None:
    code = _text(value, 64)
    if code is not None and any(ch.isspace() for ch in code):
        raise Invalid("an account code has no spaces")
    return code


def _account_type(value: Any) -> str | None:
    if value is not None and value not in ACCOUNT_TYPES:
        raise Invalid("must be one of %(account_types)s", account_types=ACCOUNT_TYPES)
    return value  # type: ignore[no-any-return]


def _optional_currency(value: Any) -> str | None:
    return None if value is None else normalize_currency(value)


Normalizer = Callable[[Any], Any]
FIELDS: dict[str, dict[str, Normalizer]] = {
    "INDUSTRY": {"name": _text, "full_name": _text},
    "PAYMENT_TERM": {"name": _text, "note": lambda v: _text(v, 2000), "lines": normalize_lines},
    "PRICELIST": {"name": _text, "currency": _optional_currency},
    "DELIVERY_METHOD": {"name": _text, "fixed_price": normalize_money},
    "SALESPERSON": {"name": _text, "email": _email, "tz": _tz},
    "ACCOUNT": {"code": _account_code, "name": _text, "account_type": _account_type},
    "FISCAL_POSITION": {"name": _text, "country_code": _country},
}
REQUIRED: dict[str, tuple[str, ...]] = {
    "INDUSTRY": ("name",),
    "PAYMENT_TERM": ("name",),
    "PRICELIST": ("name", "currency"),
    "DELIVERY_METHOD": ("name",),
    "SALESPERSON": ("name",),
    "ACCOUNT": ("code", "name", "account_type"),
    "FISCAL_POSITION": ("name",),
}
_API_NAMES = {
    "full_name": "fullName",
    "fixed_price": "fixedPrice",
    "account_type": "accountType",
    "country_code": "countryCode",
}


def normalize(catalog: str, values: Mapping[str, Any]) -> dict[str, Any]:
    fields = FIELDS[catalog]
    errors: list[FieldError] = []
    clean: dict[str, Any] = {}
    for name, value in values.items():
        api = _API_NAMES.get(name, name)
        if name not in fields:
            errors.append(
                FieldError(
                    (api,), ErrorCode.VALIDATION, Message("%(api)s is not a field here", api=api)
                )
            )
            continue
        try:
            clean[name] = fields[name](value)
        except Invalid as error:
            errors.append(
                FieldError(
                    (api,),
                    ErrorCode.VALIDATION,
                    Message("%(api)s: %(error)s", api=api, error=error),
                )
            )
    if errors:
        raise DomainError(errors)
    return clean


def _check_required(catalog: str, values: Mapping[str, Any]) -> None:
    missing = [f for f in REQUIRED[catalog] if values.get(f) in (None, "")]
    if missing:
        raise DomainError(
            [
                FieldError((_API_NAMES.get(f, f),), ErrorCode.VALIDATION, "this is required")
                for f in missing
            ]
        )


class CatalogEntry(Archivable, Aggregate):
    """One entry of one catalog; `catalog` says which."""

    class Registered(AuditedCreated):
        catalog: str
        values: dict[str, Any]

    class Updated(ValuesChanged):
        """Some of its values changed."""

    class Archived(WasArchived):
        """The entry was archived."""

    class Restored(WasRestored):
        """The entry was restored from the archive."""

    def __init__(self, catalog: str, values: dict[str, Any]) -> None:
        self.catalog = catalog
        self.values: dict[str, Any] = dict.fromkeys(FIELDS[catalog]) | dict(values)
        self.archived = False

    @classmethod
    def register(
        cls, *, entry_id: Any, catalog: str, values: Mapping[str, Any], audit: Audit
    ) -> CatalogEntry:
        if catalog not in CATALOGS:
            raise DomainError.single(
                ErrorCode.VALIDATION, Message("no catalog %(catalog)s", catalog=catalog), "catalog"
            )
        clean = normalize(catalog, {k: v for k, v in values.items() if v is not None})
        _check_required(catalog, clean)
        return cls._create(
            cls.Registered,
            id=entry_id,
            catalog=catalog,
            values={k: v for k, v in clean.items() if v not in (None, [])},
            **audit.as_event_fields(),
        )

    def update(self, changes: Mapping[str, Any], audit: Audit) -> bool:
        if self.archived:
            raise archived("this entry is archived: restore it before changing it", "id")
        clean = normalize(self.catalog, changes)
        _check_required(self.catalog, self.values | clean)
        return trigger_if_any(self, self.Updated, audit, changes=changed_fields(self.values, clean))

    @property
    def name(self) -> str:
        return str(self.values.get("name") or self.values.get("code") or "")

    def account_type_error(self, wanted: str, field: str) -> FieldError | None:
        """Why this account cannot be used where a `wanted` one (RECEIVABLE, PAYABLE) is:
        a payable account is no receivable account. None when it can."""
        found = self.values.get("account_type")
        if self.catalog != "ACCOUNT" or found == wanted:
            return None
        return FieldError(
            (field,),
            ErrorCode.VALIDATION,
            Message(
                "%(name)r is a %(found)s account; %(field)s takes a %(wanted)s account",
                name=self.name,
                found=found,
                field=field,
                wanted=wanted,
            ),
        )
