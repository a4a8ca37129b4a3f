"""First invoices recorded together for a new customer (issue 18): each is recorded once,
and the partner becomes a customer once. Saving the partner each of them marks collides;
the losers record again on fresh state instead of failing as duplicates."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from uuid import UUID

import pytest

from app.application import Partnerbook
from app.domain.audited import Audit
from app.domain.document import Document
from app.domain.partner import Partner
from app.infra.database import Database

AUDIT = Audit(actor="test", request_id="r-1")
WRITERS = 8


@pytest.fixture
def app(db: Database) -> Iterator[Partnerbook]:
    application = Partnerbook(env=db.eventsourcing_env(WRITERS, 10))
    yield application
    application.close()


@pytest.mark.timeout(300)
def test_first_invoices_recorded_together_mark_the_customer_once(app: Partnerbook) -> None:
    company = app.create_partner("COMPANY", {"name": "Azure Interior"}, AUDIT).id
    start = threading.Barrier(WRITERS)
    failures: list[BaseException] = []
    recorded: list[str] = []
    lock = threading.Lock()

    def writer(n: int) -> None:
        values = {
            "module": "ACCOUNTING",
            "kind": "INVOICE",
            "reference": f"INV/{n}",
            "date": "2026-11-20",
        }
        start.wait()
        try:
            result = app.record_document(company, values, AUDIT)
        except BaseException as error:
            with lock:
                failures.append(error)
            return
        with lock:
            recorded.append(str(result.id))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert len(set(recorded)) == WRITERS
    assert all(isinstance(app.repository.get(UUID(d)), Document) for d in recorded)
    events = list(app.repository.event_store.get(company))
    gained = [e for e in events if isinstance(e, Partner.RoleGained)]
    assert len(gained) == 1
    assert app.repository.get(company).values["is_customer"] is True
