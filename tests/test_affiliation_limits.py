"""The limits on bank accounts and affiliations hold under concurrency: adds that run
at the same time are counted in the partner's tally, saved with each of them, so no
interleaving gets past the limit (a read-model count would let them all in)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from app.application import Partnerbook
from app.domain.audited import Audit
from app.domain.bank_account import MAX_BANK_ACCOUNTS
from app.domain.errors import DomainError, ErrorCode
from app.infra.database import Database

AUDIT = Audit(actor="test", request_id="r-1", reason=None)
IBAN = "BE71096123456769"
THREADS = 8


@pytest.fixture
def app(db: Database) -> Iterator[Partnerbook]:
    application = Partnerbook(env=db.eventsourcing_env(THREADS + 2, 10))
    yield application
    application.close()


def test_concurrent_adds_never_pass_the_limit(app: Partnerbook) -> None:
    partner = app.create_partner("COMPANY", {"name": "Busy"}, AUDIT).id
    for _ in range(MAX_BANK_ACCOUNTS - 2):
        app.add_bank_account(partner, {"iban": IBAN}, AUDIT)
    start = threading.Barrier(THREADS)
    added: list[object] = []
    refused: list[ErrorCode] = []

    def add() -> None:
        start.wait()
        try:
            added.append(app.add_bank_account(partner, {"iban": IBAN}, AUDIT))
        except DomainError as error:
            refused.append(error.errors[0].code)

    threads = [threading.Thread(target=add) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(added) <= 2 and len(added) + len(refused) == THREADS
    assert set(refused) <= {ErrorCode.VALIDATION, ErrorCode.CONFLICT}
    while len(added) < 2:  # the retries of a thread may all have lost: room is left
        added.append(app.add_bank_account(partner, {"iban": IBAN}, AUDIT))
    with pytest.raises(DomainError) as error:
        app.add_bank_account(partner, {"iban": IBAN}, AUDIT)
    assert error.value.errors[0].field == ("partnerId",)


def test_a_removed_account_makes_room_again(app: Partnerbook) -> None:
    partner = app.create_partner("COMPANY", {"name": "Full"}, AUDIT).id
    ids = [
        app.add_bank_account(partner, {"iban": IBAN}, AUDIT).id for _ in range(MAX_BANK_ACCOUNTS)
    ]
    with pytest.raises(DomainError):
        app.add_bank_account(partner, {"iban": IBAN}, AUDIT)
    app.remove_bank_account(ids[0], AUDIT)
    app.add_bank_account(partner, {"iban": IBAN}, AUDIT)
