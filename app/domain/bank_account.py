"""Bank accounts of a partner (Odoo's `res.partner.bank`): IBAN, BIC, holder, currency.

IBAN and BIC are checked with python-stdnum and recorded compact (`DE89370400440532013000`),
shown formatted. The IBAN and the holder's name are encrypted with the partner's key
(RELATED_TEXT_FIELDS): a person's bank details are erased with the person."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate
from stdnum import bic as stdnum_bic
from stdnum import iban as stdnum_iban
from stdnum.exceptions import ValidationError as StdnumValidationError

from app.domain.audited import Audit, AuditedCreated, AuditedEvent
from app.domain.catalog import Invalid, normalize_currency
from app.domain.changes import ValuesChanged, changed_fields, trigger_if_any
from app.domain.errors import DomainError, ErrorCode, FieldError, validation
from app.domain.messages import Message
from app.domain.moved import MovedToPartner

MAX_IBAN_INPUT = 64
"""Characters of an IBAN as typed (spaces included); a valid one has at most 34."""
MAX_BIC_INPUT = 16
MAX_HOLDER = 140
"""Characters of a holder's name (SEPA's limit for a name)."""
MAX_BANK_ACCOUNTS = 20
"""Bank accounts (not removed) of one partner."""
FIELDS = ("iban", "bic", "holder_name", "currency")


def format_iban(compact: str | None) -> str | None:
    """The IBAN as people write it: groups of four."""
    return None if compact is None else stdnum_iban.format(compact)


def compact_iban(value: str) -> str | None:
    """The compact IBAN of `value`, or None when it is no valid IBAN (a search term)."""
    if len(value) > MAX_IBAN_INPUT:
        return None
    try:
        return str(stdnum_iban.validate(value))
    except StdnumValidationError:
        return None


def _iban(value: Any, errors: list[FieldError]) -> str | None:
    compact = compact_iban(value) if isinstance(value, str) else None
    if compact is None:
        errors.append(
            FieldError(("iban",), ErrorCode.VALIDATION, "iban is not a valid IBAN (check digits)")
        )
    return compact


def _bic(value: Any, errors: list[FieldError]) -> str | None:
    if value is None:
        return None
    try:
        if not isinstance(value, str) or len(value) > MAX_BIC_INPUT:
            raise StdnumValidationError()
        return str(stdnum_bic.validate(value))
    except StdnumValidationError:
        errors.append(FieldError(("bic",), ErrorCode.VALIDATION, "bic is not a valid BIC"))
        return None


def _holder(value: Any, errors: list[FieldError]) -> str | None:
    if value is None:
        return None
    text = " ".join(value.split()) if isinstance(value, str) else ""
    if not text or len(text) > MAX_HOLDER or not text.isprintable():
        message = Message(
            "%(field)s is 1 to %(max)s printable characters", field="holderName", max=MAX_HOLDER
        )
        errors.append(FieldError(("holderName",), ErrorCode.VALIDATION, message))
    return text or None


def _currency(value: Any, errors: list[FieldError]) -> str | None:
    try:
        return None if value is None else normalize_currency(value)
    except Invalid as error:
        message = Message("%(field)s %(error)s", field="currency", error=error)
        errors.append(FieldError(("currency",), ErrorCode.VALIDATION, message))
        return None


_CHECKS = {"iban": _iban, "bic": _bic, "holder_name": _holder, "currency": _currency}


def clean_values(changes: Mapping[str, Any]) -> dict[str, Any]:
    """The values as recorded (IBAN and BIC compact); VALIDATION naming each bad field."""
    errors: list[FieldError] = []
    clean: dict[str, Any] = {}
    for field, value in changes.items():
        check = _CHECKS.get(field)
        if check is None:
            message = Message("unknown field %(field)s", field=field)
            errors.append(FieldError((field,), ErrorCode.VALIDATION, message))
        else:
            clean[field] = check(value, errors)
    if errors:
        raise DomainError(errors)
    return clean


class BankAccount(Aggregate):
    """An account of the partner `partner_id` (whose key encrypts its IBAN and holder)."""

    class Added(AuditedCreated):
        partner_id: str
        values: dict[str, Any]

    class Updated(ValuesChanged):
        """IBAN, BIC, holder or currency changed."""

    class Removed(AuditedEvent):
        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, BankAccount)
            aggregate.removed = True

    class Moved(MovedToPartner):
        """Now belongs to another partner: a merge (or its undoing) moved it."""

    def __init__(self, partner_id: str, values: dict[str, Any]) -> None:
        self.partner_id = partner_id
        self.values: dict[str, Any] = dict.fromkeys(FIELDS) | values
        self.removed = False

    @classmethod
    def add(
        cls, *, account_id: UUID, partner_id: UUID, values: Mapping[str, Any], audit: Audit
    ) -> BankAccount:
        clean = clean_values({"iban": None} | {k: v for k, v in values.items() if v is not None})
        return cls._create(
            cls.Added,
            id=account_id,
            partner_id=str(partner_id),
            values=clean,
            **audit.as_event_fields(),
        )

    @property
    def iban(self) -> str | None:
        value = self.values.get("iban")
        return str(value) if value else None

    def update(self, changes: Mapping[str, Any], audit: Audit) -> bool:
        self._check_not_removed()
        if "iban" in changes and changes["iban"] is None:
            raise validation("iban cannot be cleared; remove the account instead", "iban")
        clean = clean_values(changes)
        return trigger_if_any(self, self.Updated, audit, changes=changed_fields(self.values, clean))

    def remove(self, audit: Audit) -> None:
        self._check_not_removed()
        self.trigger_event(self.Removed, **audit.as_event_fields())

    def _check_not_removed(self) -> None:
        if self.removed:
            raise DomainError.single(ErrorCode.NOT_FOUND, "the bank account was removed", "id")
