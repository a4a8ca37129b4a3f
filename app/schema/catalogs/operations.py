"""Mutations of the seven catalogs. Every catalog has the same life cycle (create,
update, archive, restore): each mutation is declared below under its own name and runs the
steps all catalogs share (`_create`, `_update`, `_set_state`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import strawberry

from app.application import CommandResult
from app.domain.audited import Audit
from app.schema.catalogs import inputs as ci
from app.schema.catalogs.payloads import (
    AccountPayload,
    DeliveryMethodPayload,
    FiscalPositionPayload,
    IndustryPayload,
    PaymentTermPayload,
    PricelistPayload,
    SalespersonPayload,
)
from app.schema.catalogs.types import CATALOG_TYPES
from app.schema.commands import CommandBuilder, execute
from app.schema.context import Info
from app.schema.descriptions import COMMAND, described
from app.schema.errors import UserError
from app.schema.ids import record_id


@dataclass(frozen=True)
class Answer:
    entry: Any
    """The entry as the payload shows it (None when refused)."""
    errors: list[UserError]


def entry_id(code: str, global_id: str) -> UUID:
    return record_id(global_id, _type_name(code))


def _type_name(code: str) -> str:
    return str(CATALOG_TYPES[code].__name__)


async def _answer(info: Info, code: str, build: CommandBuilder, reason: str | None) -> Answer:
    outcome = await execute(info, build, reason)
    if isinstance(outcome, list):
        return Answer(None, outcome)
    row = (await info.context.services.catalogs.entries([outcome.id])).get(outcome.id)
    return Answer(CATALOG_TYPES[code].from_row(row) if row else None, [])


async def _create(info: Info, code: str, input: Any) -> Answer:
    app = info.context.services.app

    def build(audit: Audit) -> Callable[[], CommandResult]:
        values = ci.create_values(input)
        return lambda: app.create_catalog_entry(code, values, audit, input.idempotency_key)

    return await _answer(info, code, build, input.reason)


async def _update(info: Info, code: str, input: Any) -> Answer:
    app = info.context.services.app

    def build(audit: Audit) -> Callable[[], CommandResult]:
        ident, changes = entry_id(code, input.id), ci.update_changes(input)
        return lambda: app.update_catalog_entry(ident, code, changes, audit, input.expected_version)

    return await _answer(info, code, build, input.reason)


async def _set_state(info: Info, code: str, archived: bool, input: ci.CatalogStateInput) -> Answer:
    app = info.context.services.app
    command = app.archive_catalog_entry if archived else app.restore_catalog_entry

    def build(audit: Audit) -> Callable[[], CommandResult]:
        ident = entry_id(code, input.id)
        return lambda: command(ident, code, audit, input.expected_version)

    return await _answer(info, code, build, input.reason)


def _creates(name: str) -> str:
    return f"Creates an entry of the {name} catalog."


def _updates(name: str) -> str:
    return f"Changes an entry of the {name} catalog (fields left out are unchanged)."


def _archives(name: str) -> str:
    return (
        f"Archives an entry of the {name} catalog: it stays where it is used but cannot be "
        "newly assigned."
    )


def _restores(name: str) -> str:
    return f"Restores an archived entry of the {name} catalog."


@described(COMMAND)
@strawberry.type
class CatalogMutations:
    @strawberry.mutation(description=_creates("Industry"))
    async def create_industry(self, info: Info, input: ci.CreateIndustryInput) -> IndustryPayload:
        answer = await _create(info, "INDUSTRY", input)
        return IndustryPayload(industry=answer.entry, user_errors=answer.errors)

    @strawberry.mutation(description=_updates("Industry"))
    async def update_industry(self, info: Info, input: ci.UpdateIndustryInput) -> IndustryPayload:
        answer = await _update(info, "INDUSTRY", input)
        return IndustryPayload(industry=answer.entry, user_errors=answer.errors)

    @strawberry.mutation(description=_archives("Industry"))
    async def archive_industry(self, info: Info, input: ci.CatalogStateInput) -> IndustryPayload:
        answer = await _set_state(info, "INDUSTRY", True, input)
        return IndustryPayload(industry=answer.entry, user_errors=answer.errors)

    @strawberry.mutation(description=_restores("Industry"))
    async def restore_industry(self, info: Info, input: ci.CatalogStateInput) -> IndustryPayload:
        answer = await _set_state(info, "INDUSTRY", False, input)
        return IndustryPayload(industry=answer.entry, user_errors=answer.errors)

    @strawberry.mutation(description=_creates("PaymentTerm"))
    async def create_payment_term(
        self, info: Info, input: ci.CreatePaymentTermInput
    ) -> PaymentTermPayload:
        answer = await _create(info, "PAYMENT_TERM", input)
        return PaymentTermPayload(payment_term=answer.entry, user_errors=answer.errors)

    @strawberry.mutation(description=_updates("PaymentTerm"))
    async def update_payment_term(
        self, info: Info, input: ci.UpdatePaymentTermInput
    ) -> PaymentTermPayload:
        answer = await _update(info, "PAYMENT_TERM", input)
        return PaymentTermPayload(payment_term=answer.entry, user_errors=answer.errors)

    @strawberry.mutation(description=_archives("PaymentTerm"))
    async def archive_payment_term(
        self, info: Info, input: ci.CatalogStateInput
    ) -> PaymentTermPayload:
        answer = await _set_state(info, "PAYMENT_TERM", True, input)
        return PaymentTermPayload(payment_term=answer.entry, user_errors=answer.errors)

    @strawberry.mutation(description=_restores("PaymentTerm"))
    async def restore_payment_term(
        self, info: Info, input: ci.CatalogStateInput
    ) -> PaymentTermPayload:
        answer = await _set_state(info, "PAYMENT_TERM", False, input)
        return PaymentTermPayload(payment_term=answer.entry, user_errors=answer.errors)

    @strawberry.mutation(description=_creates("Pricelist"))
    async def create_pricelist(
        self, info: Info, input: ci.CreatePricelistInput
    ) -> PricelistPayload:
        answer = await _create(info, "PRICELIST", input)
        return PricelistPayload(pricelist=answer.entry, user_errors=answer.errors)

    @strawberry.mutation(description=_updates("Pricelist"))
    async def update_pricelist(
        self, info: Info, input: ci.UpdatePricelistInput
    ) -> PricelistPayload:
        answer = await _update(info, "PRICELIST", input)
        return PricelistPayload(pricelist=answer.entry, user_errors=answer.errors)

    @strawberry.mutation(description=_archives("Pricelist"))
    async def archive_pricelist(self, info: Info, input: ci.CatalogStateInput) -> PricelistPayload:
        answer = await _set_state(info, "PRICELIST", True, input)
        return PricelistPayload(pricelist=answer.entry, user_errors=answer.errors)

    @strawberry.mutation(description=_restores("Pricelist"))
    async def restore_pricelist(self, info: Info, input: ci.CatalogStateInput) -> PricelistPayload:
        answer = await _set_state(info, "PRICELIST", False, input)
        return PricelistPayload(pricelist=answer.entry, user_errors=answer.errors)

    @strawberry.mutation(description=_creates("DeliveryMethod"))
    async def create_delivery_method(
        self, info: Info, input: ci.CreateDeliveryMethodInput
    ) -> DeliveryMethodPayload:
        answer = await _create(info, "DELIVERY_METHOD", input)
        return DeliveryMethodPayload(delivery_method=answer.entry, user_errors=answer.errors)

    @strawberry.mutation(description=_updates("DeliveryMethod"))
    async def update_delivery_method(
        self, info: Info, input: ci.UpdateDeliveryMethodInput
    ) -> DeliveryMethodPayload:
        answer = await _update(info, "DELIVERY_METHOD", input)
        return DeliveryMethodPayload(delivery_method=answer.entry, user_errors=answer.errors)

    @strawberry.mutation(description=_archives("DeliveryMethod"))
    async def archive_delivery_method(
        self, info: Info, input: ci.CatalogStateInput
    ) -> DeliveryMethodPayload:
        answer = await _set_state(info, "DELIVERY_METHOD", True, input)
        return DeliveryMethodPayload(delivery_method=answer.entry, user_errors=answer.errors)

    @strawberry.mutation(description=_restores("DeliveryMethod"))
    async def restore_delivery_method(
        self, info: Info, input: ci.CatalogStateInput
    ) -> DeliveryMethodPayload:
        answer = await _set_state(info, "DELIVERY_METHOD", False, input)
        return DeliveryMethodPayload(delivery_method=answer.entry, user_errors=answer.errors)

    @strawberry.mutation(description=_creates("Salesperson"))
    async def create_salesperson(
        self, info: Info, input: ci.CreateSalespersonInput
    ) -> SalespersonPayload:
        answer = await _create(info, "SALESPERSON", input)
        return SalespersonPayload(salesperson=answer.entry, user_errors=answer.errors)

    @strawberry.mutation(description=_updates("Salesperson"))
    async def update_salesperson(
        self, info: Info, input: ci.UpdateSalespersonInput
    ) -> SalespersonPayload:
        answer = await _update(info, "SALESPERSON", input)
        return SalespersonPayload(salesperson=answer.entry, user_errors=answer.errors)

    @strawberry.mutation(description=_archives("Salesperson"))
    async def archive_salesperson(
        self, info: Info, input: ci.CatalogStateInput
    ) -> SalespersonPayload:
        answer = await _set_state(info, "SALESPERSON", True, input)
        return SalespersonPayload(salesperson=answer.entry, user_errors=answer.errors)

    @strawberry.mutation(description=_restores("Salesperson"))
    async def restore_salesperson(
        self, info: Info, input: ci.CatalogStateInput
    ) -> SalespersonPayload:
        answer = await _set_state(info, "SALESPERSON", False, input)
        return SalespersonPayload(salesperson=answer.entry, user_errors=answer.errors)

    @strawberry.mutation(description=_creates("Account"))
    async def create_account(self, info: Info, input: ci.CreateAccountInput) -> AccountPayload:
        answer = await _create(info, "ACCOUNT", input)
        return AccountPayload(account=answer.entry, user_errors=answer.errors)

    @strawberry.mutation(description=_updates("Account"))
    async def update_account(self, info: Info, input: ci.UpdateAccountInput) -> AccountPayload:
        answer = await _update(info, "ACCOUNT", input)
        return AccountPayload(account=answer.entry, user_errors=answer.errors)

    @strawberry.mutation(description=_archives("Account"))
    async def archive_account(self, info: Info, input: ci.CatalogStateInput) -> AccountPayload:
        answer = await _set_state(info, "ACCOUNT", True, input)
        return AccountPayload(account=answer.entry, user_errors=answer.errors)

    @strawberry.mutation(description=_restores("Account"))
    async def restore_account(self, info: Info, input: ci.CatalogStateInput) -> AccountPayload:
        answer = await _set_state(info, "ACCOUNT", False, input)
        return AccountPayload(account=answer.entry, user_errors=answer.errors)

    @strawberry.mutation(description=_creates("FiscalPosition"))
    async def create_fiscal_position(
        self, info: Info, input: ci.CreateFiscalPositionInput
    ) -> FiscalPositionPayload:
        answer = await _create(info, "FISCAL_POSITION", input)
        return FiscalPositionPayload(fiscal_position=answer.entry, user_errors=answer.errors)

    @strawberry.mutation(description=_updates("FiscalPosition"))
    async def update_fiscal_position(
        self, info: Info, input: ci.UpdateFiscalPositionInput
    ) -> FiscalPositionPayload:
        answer = await _update(info, "FISCAL_POSITION", input)
        return FiscalPositionPayload(fiscal_position=answer.entry, user_errors=answer.errors)

    @strawberry.mutation(description=_archives("FiscalPosition"))
    async def archive_fiscal_position(
        self, info: Info, input: ci.CatalogStateInput
    ) -> FiscalPositionPayload:
        answer = await _set_state(info, "FISCAL_POSITION", True, input)
        return FiscalPositionPayload(fiscal_position=answer.entry, user_errors=answer.errors)

    @strawberry.mutation(description=_restores("FiscalPosition"))
    async def restore_fiscal_position(
        self, info: Info, input: ci.CatalogStateInput
    ) -> FiscalPositionPayload:
        answer = await _set_state(info, "FISCAL_POSITION", False, input)
        return FiscalPositionPayload(fiscal_position=answer.entry, user_errors=answer.errors)
