"""Bank accounts and affiliations in the domain: what is checked, and what is kept."""

from __future__ import annotations

from uuid import uuid4

import pytest

from app.domain.affiliation import Affiliation
from app.domain.audited import Audit
from app.domain.bank_account import MAX_HOLDER, BankAccount, compact_iban, format_iban
from app.domain.errors import DomainError

AUDIT = Audit(actor="test", request_id="r-1", reason=None)


def _fields(error: pytest.ExceptionInfo[DomainError]) -> list[str]:
    return sorted(e.field[0] for e in error.value.errors)


def test_an_iban_is_kept_compact_and_shown_in_groups_of_four() -> None:
    account = BankAccount.add(
        account_id=uuid4(),
        partner_id=uuid4(),
        values={"iban": " be71 0961-2345 6769 ", "bic": "gkccbebb", "currency": "eur"},
        audit=AUDIT,
    )
    assert account.values["iban"] == "BE71096123456769"
    assert (account.values["bic"], account.values["currency"]) == ("GKCCBEBB", "EUR")
    assert format_iban(account.iban) == "BE71 0961 2345 6769"


@pytest.mark.parametrize(
    "values, fields",
    [
        ({"iban": "BE72096123456769"}, ["iban"]),  # check digits
        ({"iban": "BE71096123456769", "bic": "GKCC"}, ["bic"]),
        ({"iban": "BE71096123456769", "holder_name": "x" * (MAX_HOLDER + 1)}, ["holderName"]),
        ({"iban": "BE71096123456769", "holder_name": "a\u0000b"}, ["holderName"]),
        ({"iban": "BE71096123456769", "currency": "EURO"}, ["currency"]),
        ({"iban": "BE71" + "0" * 100_000}, ["iban"]),
        ({}, ["iban"]),
    ],
)
def test_bad_values_are_refused_naming_the_field(values: dict[str, str], fields: list[str]) -> None:
    with pytest.raises(DomainError) as error:
        BankAccount.add(account_id=uuid4(), partner_id=uuid4(), values=values, audit=AUDIT)
    assert _fields(error) == fields


def test_a_search_term_is_an_iban_only_when_valid() -> None:
    assert compact_iban("be71 0961 2345 6769") == "BE71096123456769"
    assert compact_iban("BE72 0961 2345 6769") is None
    assert compact_iban("acme") is None


def test_an_affiliation_ends_once_and_never_before_it_starts() -> None:
    affiliation = Affiliation.create(
        affiliation_id=uuid4(),
        person_id=uuid4(),
        company_id=uuid4(),
        values={"role": "  Board   member ", "start_date": "2026-01-10"},
        audit=AUDIT,
    )
    assert affiliation.values["role"] == "Board member"
    with pytest.raises(DomainError) as error:
        affiliation.end("2026-01-01", AUDIT)
    assert _fields(error) == ["endDate"]
    affiliation.end("2026-02-01", AUDIT)
    assert affiliation.values["end_date"] == "2026-02-01"
    with pytest.raises(DomainError):
        affiliation.end(None, AUDIT)
