"""Queries and mutations of the seven catalogs, made from one description each: every
catalog has the same life cycle (create, update, archive, restore, list by name)."""

# No `from __future__ import annotations` here: the resolvers below are made in a loop and
# Strawberry must see their real input and payload classes, not names.

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Optional
from uuid import UUID

import strawberry

from app.domain.errors import DomainError, ErrorCode, FieldError
from app.queries.keyset import BadCursor
from app.schema.catalogs import inputs as ci
from app.schema.catalogs.types import CATALOG_TYPES, catalog_item
from app.schema.commands import execute
from app.schema.context import Info
from app.schema.errors import ClientError, UserError
from app.schema.ids import BadId, expect_id
from app.schema.relay import Connection, check_page_args, make_connection


@dataclass(frozen=True)
class CatalogSpec:
    code: str
    field: str  # the payload's field, snake_case
    plural: str  # the list query, snake_case
    create_input: type[Any]
    update_input: type[Any]

    @property
    def type_name(self) -> str:
        return str(CATALOG_TYPES[self.code].__name__)


SPECS = (
    CatalogSpec(
        "INDUSTRY", "industry", "industries", ci.CreateIndustryInput, ci.UpdateIndustryInput
    ),
    CatalogSpec(
        "PAYMENT_TERM",
        "payment_term",
        "payment_terms",
        ci.CreatePaymentTermInput,
        ci.UpdatePaymentTermInput,
    ),
    CatalogSpec(
        "PRICELIST", "pricelist", "pricelists", ci.CreatePricelistInput, ci.UpdatePricelistInput
    ),
    CatalogSpec(
        "DELIVERY_METHOD",
        "delivery_method",
        "delivery_methods",
        ci.CreateDeliveryMethodInput,
        ci.UpdateDeliveryMethodInput,
    ),
    CatalogSpec(
        "SALESPERSON",
        "salesperson",
        "salespersons",
        ci.CreateSalespersonInput,
        ci.UpdateSalespersonInput,
    ),
    CatalogSpec("ACCOUNT", "account", "accounts", ci.CreateAccountInput, ci.UpdateAccountInput),
    CatalogSpec(
        "FISCAL_POSITION",
        "fiscal_position",
        "fiscal_positions",
        ci.CreateFiscalPositionInput,
        ci.UpdateFiscalPositionInput,
    ),
)


def entry_id(spec: CatalogSpec, global_id: str) -> UUID:
    try:
        return expect_id(global_id, spec.type_name)
    except BadId as error:
        raise DomainError([FieldError(("id",), ErrorCode.NOT_FOUND, str(error))]) from None


def _payload_type(spec: CatalogSpec) -> type[Any]:
    cls = type(
        f"{spec.type_name}Payload",
        (),
        {
            "__annotations__": {
                spec.field: Optional[CATALOG_TYPES[spec.code]],  # noqa: UP045 - evaluated at runtime
                "user_errors": list[UserError],
            },
            "__module__": __name__,
        },
    )
    return strawberry.type(cls)


def _mutations(spec: CatalogSpec) -> dict[str, Any]:
    payload = _payload_type(spec)
    cls = CATALOG_TYPES[spec.code]
    name = spec.type_name

    async def respond(info: Info, build: Callable[..., Any], reason: str | None) -> Any:
        outcome = await execute(info, build, reason)
        if isinstance(outcome, list):
            return payload(**{spec.field: None, "user_errors": outcome})
        row = (await info.context.services.catalogs.entries([outcome.id])).get(outcome.id)
        return payload(**{spec.field: cls.from_row(row) if row else None, "user_errors": []})

    async def create(self: Any, info: Info, input: Any) -> Any:
        app = info.context.services.app
        return await respond(
            info,
            lambda audit: (
                lambda: app.create_catalog_entry(
                    spec.code, ci.create_values(input), audit, input.idempotency_key
                )
            ),
            input.reason,
        )

    async def update(self: Any, info: Info, input: Any) -> Any:
        app = info.context.services.app

        def build(audit: Any) -> Callable[[], Any]:
            ident, changes = entry_id(spec, input.id), ci.update_changes(input)
            return lambda: app.update_catalog_entry(
                ident, spec.code, changes, audit, input.expected_version
            )

        return await respond(info, build, input.reason)

    def state_change(method: str) -> Callable[..., Any]:
        async def change(self: Any, info: Info, input: ci.CatalogStateInput) -> Any:
            app = info.context.services.app

            def build(audit: Any) -> Callable[[], Any]:
                ident = entry_id(spec, input.id)
                return lambda: getattr(app, method)(ident, spec.code, audit, input.expected_version)

            return await respond(info, build, input.reason)

        change.__annotations__["return"] = payload
        return change

    # Strawberry reads these annotations: each catalog's own input and payload classes.
    create.__annotations__.update({"input": spec.create_input, "return": payload})
    update.__annotations__.update({"input": spec.update_input, "return": payload})

    return {
        f"create_{spec.field}": strawberry.mutation(
            create, description=f"Creates an entry of the {name} catalog."
        ),
        f"update_{spec.field}": strawberry.mutation(
            update,
            description=f"Changes an entry of the {name} catalog (fields left out are unchanged).",
        ),
        f"archive_{spec.field}": strawberry.mutation(
            state_change("archive_catalog_entry"),
            description=f"Archives an entry of the {name} catalog: it stays where it is used but cannot be newly assigned.",
        ),
        f"restore_{spec.field}": strawberry.mutation(
            state_change("restore_catalog_entry"),
            description=f"Restores an archived entry of the {name} catalog.",
        ),
    }


def _query(spec: CatalogSpec) -> dict[str, Any]:
    cls = CATALOG_TYPES[spec.code]

    async def entries(
        self: Any,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        include_archived: bool = False,
    ) -> Any:
        check_page_args(first, after, None, None)
        catalogs = info.context.services.catalogs
        try:
            page = await catalogs.entry_page(
                spec.code, include_archived=include_archived, first=first, after=after
            )
        except BadCursor as error:
            raise ClientError(str(error), "BAD_REQUEST") from None
        return make_connection(
            [catalog_item(row) for row in page.rows],
            page.cursors,
            has_next_page=page.has_next_page,
            has_previous_page=page.has_previous_page,
            count=lambda: catalogs.count(page.count_query),
        )

    entries.__annotations__["return"] = Connection[cls]  # type: ignore[valid-type]
    return {
        spec.plural: strawberry.field(
            entries, description=f"The {spec.type_name} catalog, by name (archived left out)."
        )
    }


def _merge(parts: list[dict[str, Any]], name: str) -> type[Any]:
    namespace: dict[str, Any] = {"__module__": __name__}
    for part in parts:
        namespace.update(part)
    return strawberry.type(type(name, (), namespace))


CatalogMutations = _merge([_mutations(spec) for spec in SPECS], "CatalogMutations")
CatalogQueries = _merge([_query(spec) for spec in SPECS], "CatalogQueries")
