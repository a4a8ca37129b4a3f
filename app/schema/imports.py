"""`importPartners`: up to 1,000 rows of the Odoo contacts layout in one request, with the
same rules and report as `partnerbook import partners`."""

from __future__ import annotations

from typing import Any

import strawberry

from app.application.import_partners import ImportAnswer
from app.domain import odoo_columns as oc
from app.domain.errors import DomainError
from app.queries.partners.rows import PartnerRow
from app.schema.context import Info
from app.schema.descriptions import COMMAND, PAYLOAD, described
from app.schema.errors import UserError, user_errors
from app.schema.language import Translated
from app.schema.partners.descriptions import PARTNER_FIELDS
from app.schema.partners.types import Partner
from app.schema.use_cases import audit, partner_import

_COLUMNS = {
    **{column: column for column in oc.DIRECT},
    "external_id": "id",
    "parent_external_id": "parent_id/id",
    "parent_name": "parent_id",
    "type": "type",
    "state": "state_id",
    "country": "country_id",
    "salesperson": "user_id",
    "industry": "industry_id",
}
"""Input field -> the Odoo column it stands for (the text columns keep Odoo's names)."""
_FLAGS = {
    "is_company": "is_company",
    "is_customer": "customer",
    "is_supplier": "supplier",
    "active": "active",
}
_API_NAMES = {
    **{column: field for field, column in _COLUMNS.items()},
    **{column: field for field, column in _FLAGS.items()},
    "country_id/id": "country",
    "state_id/id": "state",
    "category_id": "tags",
    "category_id/id": "tags",
    "customer_rank": "is_customer",
    "supplier_rank": "is_supplier",
    "company_type": "is_company",
}
_ROW_FIELDS = {
    "is_company": "A company (true) or a person (false); a person by default.",
    "comment": "Notes (Odoo's `comment`).",
}


@described(_ROW_FIELDS, PARTNER_FIELDS)
@strawberry.input(
    description="One partner in the terms of an Odoo contacts export; fields left out are "
    "not changed on a partner that exists."
)
class PartnerImportRow:
    external_id: str | None = strawberry.field(
        default=None, description="Its id in the source system (Odoo's `id` column)."
    )
    name: str | None = None
    is_company: bool | None = None
    parent_external_id: str | None = strawberry.field(
        default=None, description="The parent's external id; it may be a later row."
    )
    parent_name: str | None = strawberry.field(
        default=None, description="Or the parent company's name."
    )
    type: str | None = strawberry.field(
        default=None, description="contact, invoice, delivery or other."
    )
    function: str | None = None
    street: str | None = None
    street2: str | None = None
    zip: str | None = None
    city: str | None = None
    state: str | None = strawberry.field(default=None, description="A name or ISO code.")
    country: str | None = strawberry.field(
        default=None, description="A name, an ISO code or an Odoo id such as base.uk."
    )
    phone: str | None = None
    mobile: str | None = None
    email: str | None = None
    website: str | None = None
    vat: str | None = None
    ref: str | None = None
    lang: str | None = None
    tz: str | None = None
    company_registry: str | None = None
    comment: str | None = None
    tags: list[str] | None = strawberry.field(
        default=None,
        description='Tag names, "Parent / Child" for sub-tags; unknown ones are created.',
    )
    salesperson: str | None = strawberry.field(
        default=None, description="By name; an unknown one is created."
    )
    industry: str | None = strawberry.field(
        default=None, description="By name; an unknown one is created."
    )
    is_customer: bool | None = None
    is_supplier: bool | None = None
    active: bool | None = strawberry.field(default=None, description="false archives.")

    def to_record(self) -> dict[str, Any]:
        record: dict[str, Any] = {}
        for name, column in _COLUMNS.items():
            value = getattr(self, name)
            if value is not None:
                record[column] = value
        for name, column in _FLAGS.items():
            value = getattr(self, name)
            if value is not None:
                record[column] = "1" if value else "0"
        if self.tags is not None:
            record["category_id"] = list(self.tags)
        return record


@strawberry.input(description="The rows to import.")
class ImportPartnersInput:
    rows: list[PartnerImportRow] = strawberry.field(description="At most 1,000 rows.")
    dry_run: bool = strawberry.field(default=False, description="Check and count; write nothing.")
    idempotency_key: str | None = strawberry.field(
        default=None,
        description="Gives rows without an external id the same new ids on a repeat.",
    )


@strawberry.type(description="Why a row was rejected, or what was kept as typed.")
class ImportProblem:
    row: int = strawberry.field(description="1 for the first row of the input.")
    field: str = strawberry.field(description="The input field it concerns.")
    message: str = strawberry.field(
        description="What is wrong with it, for people, in the request's language.",
        extensions=[Translated(plain=True)],
    )


@described(PAYLOAD)
@strawberry.type(description="What an import did (or would do, for a dry run).")
class ImportPartnersPayload:
    created: int = strawberry.field(description="Rows that made a new partner.")
    updated: int = strawberry.field(description="Rows that changed an existing partner.")
    unchanged: int = strawberry.field(description="Rows that matched a partner as it is.")
    rejected: list[ImportProblem] = strawberry.field(description="Rows not imported, and why.")
    warnings: list[ImportProblem] = strawberry.field(
        description="Values imported but kept as typed (a phone that does not parse…)."
    )
    partners: list[Partner | None] | None = strawberry.field(
        description="The partners of the rows imported, in input order (none for a dry run)."
    )
    user_errors: list[UserError]


def _problem(problem: oc.Problem) -> ImportProblem:
    name = _API_NAMES.get(problem.column, problem.column)
    head, *rest = name.split("_")
    return ImportProblem(
        row=problem.row, field=head + "".join(p.title() for p in rest), message=problem.message
    )


def _payload(answer: ImportAnswer[PartnerRow]) -> ImportPartnersPayload:
    report = answer.report
    return ImportPartnersPayload(
        created=report.created,
        updated=report.updated,
        unchanged=report.unchanged,
        rejected=[_problem(p) for p in report.rejected],
        warnings=[_problem(p) for p in report.warnings],
        partners=None
        if answer.partners is None
        else [Partner.from_row(row) if row else None for row in answer.partners],
        user_errors=[],
    )


def _refused(error: DomainError) -> ImportPartnersPayload:
    return ImportPartnersPayload(
        created=0,
        updated=0,
        unchanged=0,
        rejected=[],
        warnings=[],
        partners=None,
        user_errors=user_errors(error),
    )


@described(COMMAND)
@strawberry.type
class ImportMutations:
    @strawberry.mutation(
        description="Creates or updates up to 1,000 partners (external id, then ref, VAT, "
        "email find them); bad rows are rejected one by one, the others imported."
    )
    async def import_partners(
        self, info: Info, input: ImportPartnersInput
    ) -> ImportPartnersPayload:
        try:
            answer = await partner_import(info).run(
                [row.to_record() for row in input.rows],
                audit(info, "importPartners"),
                dry_run=input.dry_run,
                idempotency_key=input.idempotency_key,
            )
        except DomainError as error:
            return _refused(error)
        return _payload(answer)
