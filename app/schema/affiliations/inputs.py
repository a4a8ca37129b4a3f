"""What clients send to add, change and end affiliations and bank accounts."""

from __future__ import annotations

from datetime import date

import strawberry

from app.schema.descriptions import COMMAND, described

FIELDS = {
    "person_id": "The person (a PERSON partner).",
    "company_id": "The company (a COMPANY partner); the person's `parent` may differ.",
    "role": "The kind of tie (Board member, Consultant…), up to 128 characters.",
    "function": "Job position in that company, up to 128 characters.",
    "start_date": "The first day it holds.",
    "end_date": "The first day it no longer holds (today when left out, for endAffiliation).",
    "partner_id": "The partner the account belongs to.",
    "iban": "The IBAN, spaces allowed; checked (country format and check digits).",
    "bic": "The bank's BIC (8 or 11 characters); checked.",
    "holder_name": "Who holds the account, when not the partner itself (up to 140 characters).",
    "currency": "ISO 4217 code of the account.",
}


@described(FIELDS, COMMAND)
@strawberry.input(description="A person's affiliation with a company.")
class AddAffiliationInput:
    person_id: strawberry.ID
    company_id: strawberry.ID
    role: str | None = None
    function: str | None = None
    start_date: date | None = None
    end_date: date | None = None
    idempotency_key: str | None = None
    reason: str | None = None


@described(FIELDS, COMMAND)
@strawberry.input(description="Changes an affiliation: fields left out stay, null clears.")
class UpdateAffiliationInput:
    id: strawberry.ID
    expected_version: int | None = None
    reason: str | None = None
    role: strawberry.Maybe[str | None] = None
    function: strawberry.Maybe[str | None] = None
    start_date: strawberry.Maybe[date | None] = None
    end_date: strawberry.Maybe[date | None] = None


@described(FIELDS, COMMAND)
@strawberry.input(description="Ends an affiliation; it stays, with its end date.")
class EndAffiliationInput:
    id: strawberry.ID
    end_date: date | None = None
    expected_version: int | None = None
    reason: str | None = None


@described(FIELDS, COMMAND)
@strawberry.input(description="A bank account for a partner.")
class AddBankAccountInput:
    partner_id: strawberry.ID
    iban: str
    bic: str | None = None
    holder_name: str | None = None
    currency: str | None = None
    idempotency_key: str | None = None
    reason: str | None = None


@described(FIELDS, COMMAND)
@strawberry.input(description="Changes a bank account: fields left out stay, null clears.")
class UpdateBankAccountInput:
    id: strawberry.ID
    expected_version: int | None = None
    reason: str | None = None
    iban: strawberry.Maybe[str | None] = None
    bic: strawberry.Maybe[str | None] = None
    holder_name: strawberry.Maybe[str | None] = None
    currency: strawberry.Maybe[str | None] = None


@described(COMMAND)
@strawberry.input(description="Removes a bank account (its history stays).")
class RemoveBankAccountInput:
    id: strawberry.ID
    expected_version: int | None = None
    reason: str | None = None
