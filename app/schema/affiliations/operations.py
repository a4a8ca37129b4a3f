"""Mutations of affiliations and bank accounts: each runs its command (app/schema/
commands.py) and answers the record as the read model shows it afterwards."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import strawberry

from app.application import CommandResult
from app.domain.audited import Audit
from app.domain.errors import ErrorCode, FieldError
from app.domain.messages import Message
from app.schema.affiliations.inputs import (
    AddAffiliationInput,
    AddBankAccountInput,
    EndAffiliationInput,
    RemoveBankAccountInput,
    UpdateAffiliationInput,
    UpdateBankAccountInput,
)
from app.schema.affiliations.types import Affiliation, BankAccount, directory
from app.schema.catalogs.inputs import plain
from app.schema.commands import CommandBuilder, execute
from app.schema.context import Info
from app.schema.descriptions import COMMAND, PAYLOAD, described
from app.schema.errors import UserError, from_field_error
from app.schema.ids import record_id


@described(PAYLOAD)
@strawberry.type(description="The outcome of an affiliation mutation.")
class AffiliationPayload:
    affiliation: Affiliation | None = strawberry.field(
        description="The affiliation after the change; null when refused."
    )
    user_errors: list[UserError]


@described(PAYLOAD)
@strawberry.type(description="The outcome of a bank account mutation.")
class BankAccountPayload:
    bank_account: BankAccount | None = strawberry.field(
        description="The account after the change (as it was, for a removal); null when refused."
    )
    user_errors: list[UserError]
    warnings: list[UserError] = strawberry.field(
        description="What the change, made, may call for: DUPLICATE when another partner has "
        "an account with the same IBAN (naming it). Empty otherwise, and when refused."
    )


def _changes(data: object) -> dict[str, Any]:
    """The fields sent (`Some` values), dates as ISO text."""
    changes: dict[str, Any] = {}
    for name in data.__dataclass_fields__:  # type: ignore[attr-defined]
        given = getattr(data, name)
        if name in ("id", "expected_version", "reason") or given is None:
            continue
        value = given.value
        changes[name] = value.isoformat() if isinstance(value, date) else plain(value)
    return changes


def _values(data: object, fields: tuple[str, ...]) -> dict[str, Any]:
    values = {f: getattr(data, f) for f in fields}
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in values.items()}


async def _affiliation(info: Info, build: CommandBuilder, reason: str | None) -> AffiliationPayload:
    outcome = await execute(info, build, reason)
    if isinstance(outcome, list):
        return AffiliationPayload(affiliation=None, user_errors=outcome)
    row = (await directory(info).affiliations([outcome.id])).get(outcome.id)
    return AffiliationPayload(
        affiliation=Affiliation.from_row(row) if row else None, user_errors=[]
    )


async def _account(info: Info, build: CommandBuilder, reason: str | None) -> BankAccountPayload:
    outcome = await execute(info, build, reason)
    if isinstance(outcome, list):
        return BankAccountPayload(bank_account=None, user_errors=outcome, warnings=[])
    reads = directory(info)
    row = (await reads.bank_accounts([outcome.id], include_removed=True)).get(outcome.id)
    warnings: list[UserError] = []
    if row is not None and row.iban is not None and row.removed_at is None:
        for other in await reads.iban_holders(row.iban, row.partner_id):
            message = Message("another partner has an account with this IBAN")
            found = FieldError(("iban",), ErrorCode.DUPLICATE, message, ("Partner", str(other)))
            warnings.append(from_field_error(found))
    account = BankAccount.from_row(row) if row else None
    return BankAccountPayload(bank_account=account, user_errors=[], warnings=warnings)


@described(COMMAND)
@strawberry.type
class AffiliationMutations:
    @strawberry.mutation(description="Affiliates a person with a company (besides `parent`).")
    async def add_affiliation(self, info: Info, input: AddAffiliationInput) -> AffiliationPayload:
        return await _affiliation(info, _add_affiliation(info, input), input.reason)

    @strawberry.mutation(description="Changes an affiliation's role, function or dates.")
    async def update_affiliation(
        self, info: Info, input: UpdateAffiliationInput
    ) -> AffiliationPayload:
        app = info.context.services.app

        def build(audit: Audit) -> Callable[[], CommandResult]:
            ident = record_id(input.id, "Affiliation")
            changes = _changes(input)
            return lambda: app.update_affiliation(ident, changes, audit, input.expected_version)

        return await _affiliation(info, build, input.reason)

    @strawberry.mutation(description="Ends an affiliation: kept in lists with `includeEnded`.")
    async def end_affiliation(self, info: Info, input: EndAffiliationInput) -> AffiliationPayload:
        app = info.context.services.app
        end = input.end_date.isoformat() if input.end_date else None

        def build(audit: Audit) -> Callable[[], CommandResult]:
            ident = record_id(input.id, "Affiliation")
            return lambda: app.end_affiliation(ident, end, audit, input.expected_version)

        return await _affiliation(info, build, input.reason)

    @strawberry.mutation(description="Adds a bank account to a partner (IBAN and BIC checked).")
    async def add_bank_account(self, info: Info, input: AddBankAccountInput) -> BankAccountPayload:
        return await _account(info, _add_bank_account(info, input), input.reason)

    @strawberry.mutation(description="Changes a bank account's IBAN, BIC, holder or currency.")
    async def update_bank_account(
        self, info: Info, input: UpdateBankAccountInput
    ) -> BankAccountPayload:
        app = info.context.services.app

        def build(audit: Audit) -> Callable[[], CommandResult]:
            ident = record_id(input.id, "BankAccount")
            changes = _changes(input)
            return lambda: app.update_bank_account(ident, changes, audit, input.expected_version)

        return await _account(info, build, input.reason)

    @strawberry.mutation(description="Removes a bank account; its history stays.")
    async def remove_bank_account(
        self, info: Info, input: RemoveBankAccountInput
    ) -> BankAccountPayload:
        app = info.context.services.app

        def build(audit: Audit) -> Callable[[], CommandResult]:
            ident = record_id(input.id, "BankAccount")
            return lambda: app.remove_bank_account(ident, audit, input.expected_version)

        return await _account(info, build, input.reason)


def _add_affiliation(info: Info, input: AddAffiliationInput) -> CommandBuilder:
    app = info.context.services.app

    def build(audit: Audit) -> Callable[[], CommandResult]:
        person = record_id(input.person_id, "Partner", "personId")
        company = record_id(input.company_id, "Partner", "companyId")
        values = _values(input, ("role", "function", "start_date", "end_date"))
        key = input.idempotency_key
        return lambda: app.add_affiliation(person, company, values, audit, key)

    return build


def _add_bank_account(info: Info, input: AddBankAccountInput) -> CommandBuilder:
    app = info.context.services.app

    def build(audit: Audit) -> Callable[[], CommandResult]:
        partner = record_id(input.partner_id, "Partner", "partnerId")
        values = _values(input, ("iban", "bic", "holder_name", "currency"))
        key = input.idempotency_key
        return lambda: app.add_bank_account(partner, values, audit, key)

    return build
