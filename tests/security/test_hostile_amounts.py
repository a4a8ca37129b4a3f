"""An amount PostgreSQL's `numeric` cannot hold (`1E-99999`: more than its 16,383
decimals) was recorded, then stopped the projector, every write after it waiting for a
projection that never came, and every rebuild. Amounts now have at most 6 decimals
(Odoo's precision for payment terms), on every path that takes one; and an amount an
older event carries is projected as the nearest value `numeric` holds."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID

import psycopg
import pytest

from app.application import Partnerbook
from app.domain.audited import Audit
from app.domain.partner import Partner
from app.infra.database import Database
from app.projections.projector import Projector, RegistryProjection, construct_view
from tests.conftest import event_count
from tests.projections.test_partners_projection import table_rows
from tests.security.conftest import Live

HOSTILE = ["1E-99999", "0." + "0" * 20_000 + "1", "1.0000001", "-1E-7"]

COMPANY = """mutation { createPartner(input: {kind: COMPANY, name: "Amounts Co"}) {
  partner { id } } }"""
TERM = """mutation { createPaymentTerm(input: {name: "30 days", lines: [{kind: BALANCE, days: 30}]}) {
  entry { id } userErrors { code } } }"""
INVOICE = """mutation($p: ID!) { recordDocument(input: {partnerId: $p, module: ACCOUNTING,
  kind: INVOICE, reference: "AM-1", date: "2026-12-01", amount: "100", currency: "EUR"}) {
  document { id } userErrors { code } } }"""
READ = "query($id: ID!) { partner(id: $id) { name } }"

PATHS: dict[str, tuple[str, Any]] = {
    "credit limit": (
        """mutation($p: ID!, $a: Decimal!) { setCommercialTerms(input: {id: $p,
        creditLimit: {amount: $a, currency: "EUR"}}) { userErrors { code field } } }""",
        lambda ids, a: {"p": ids["company"], "a": a},
    ),
    "expected revenue": (
        """mutation($p: ID!, $a: Decimal!) { createOpportunity(input: {partnerId: $p,
        name: "Deal", expectedRevenue: {amount: $a, currency: "EUR"}}) {
        userErrors { code field } } }""",
        lambda ids, a: {"p": ids["company"], "a": a},
    ),
    "amount paid, recorded": (
        """mutation($p: ID!, $a: Decimal!) { recordDocument(input: {partnerId: $p,
        module: ACCOUNTING, kind: INVOICE, reference: "AM-2", date: "2026-12-01",
        amount: "100", currency: "EUR", amountPaid: $a}) { userErrors { code field } } }""",
        lambda ids, a: {"p": ids["company"], "a": a},
    ),
    "amount paid, updated": (
        """mutation($d: ID!, $a: Decimal!) { updateDocument(input: {id: $d, amountPaid: $a}) {
        userErrors { code field } } }""",
        lambda ids, a: {"d": ids["invoice"], "a": a},
    ),
    "payment term line": (
        """mutation($a: Decimal!) { createPaymentTerm(input: {name: "Odd", lines: [
        {kind: PERCENT, value: $a}, {kind: BALANCE, days: 30}]}) { userErrors { code field } } }""",
        lambda ids, a: {"a": a},
    ),
    "early-payment discount": (
        """mutation($a: Decimal!) { createPaymentTerm(input: {name: "Odd", lines: [
        {kind: BALANCE, days: 30, discountPercent: $a, discountDays: 10}]}) {
        userErrors { code field } } }""",
        lambda ids, a: {"a": a},
    ),
    "delivery price": (
        """mutation($a: Decimal!) { createDeliveryMethod(input: {name: "Odd",
        fixedPrice: {amount: $a, currency: "EUR"}}) { userErrors { code field } } }""",
        lambda ids, a: {"a": a},
    ),
}


def _only(data: dict[str, Any]) -> Any:
    [payload] = data.values()
    return payload


@pytest.mark.parametrize(
    "amount", HOSTILE, ids=["1E-99999", "20001 decimals", "7 decimals", "-1E-7"]
)
def test_an_amount_finer_than_six_decimals_is_refused_everywhere(live: Live, amount: str) -> None:
    company = _only(live.data(COMPANY))["partner"]["id"]
    invoice = _only(live.data(INVOICE, {"p": company}))["document"]["id"]
    ids = {"company": company, "invoice": invoice}
    before = event_count(live.db)
    for name, (mutation, variables) in PATHS.items():
        payload = _only(live.data(mutation, variables(ids, amount), role="admin"))
        assert [e["code"] for e in payload["userErrors"]] == ["VALIDATION"], (name, payload)
    assert event_count(live.db) == before
    # The projection goes on: a write after the attempts is read back at once.
    renamed = live.data(
        """mutation($p: ID!) { updatePartner(input: {id: $p, name: "Still Here"}) {
        userErrors { code } } }""",
        {"p": company},
    )
    assert _only(renamed)["userErrors"] == []
    assert live.data(READ, {"id": company})["partner"]["name"] == "Still Here"


@pytest.mark.parametrize("amount", ["1e999999999", "-1E+999999999", "9" * 5_000])
def test_an_amount_past_what_decimal_arithmetic_holds_is_refused_everywhere(
    live: Live, amount: str
) -> None:
    """`1e999999999` parses as a Decimal, then overflowed Python's decimal context at the
    first arithmetic (`abs`): an INTERNAL error on every path that takes an amount. It is
    a VALIDATION user error, and nothing is recorded."""
    company = _only(live.data(COMPANY))["partner"]["id"]
    invoice = _only(live.data(INVOICE, {"p": company}))["document"]["id"]
    ids = {"company": company, "invoice": invoice}
    before = event_count(live.db)
    for name, (mutation, variables) in PATHS.items():
        body = live.post(mutation, variables(ids, amount), role="admin").json()
        assert "errors" not in body, (name, body)
        payload = _only(body["data"])
        assert [e["code"] for e in payload["userErrors"]] == ["VALIDATION"], (name, payload)
    assert event_count(live.db) == before


def test_six_decimals_are_kept(live: Live) -> None:
    company = _only(live.data(COMPANY))["partner"]["id"]
    mutation, variables = PATHS["payment term line"]
    payload = _only(live.data(mutation, variables({}, "33.333333")))
    assert payload["userErrors"] == []
    mutation, variables = PATHS["credit limit"]
    assert _only(live.data(mutation, variables({"company": company}, "1000.5")))["userErrors"] == []


AUDIT = Audit(actor="amount-test", request_id="r-amount")


@pytest.fixture
def app(ungrouped_app: Partnerbook) -> Partnerbook:
    return ungrouped_app


def _raw_terms(app: Partnerbook, partner_id: UUID, amount: str) -> None:
    """A `CommercialTermsSet` with a credit limit of `amount` as it is, written by the
    application's mapper and recorder (no domain rule): what older code recorded."""
    partner: Partner = app.repository.get(partner_id)
    assert isinstance(partner, Partner)
    partner.set_commercial_terms({"credit_limit": {"amount": "1.00", "currency": "EUR"}}, AUDIT)
    [event] = partner.collect_events()
    assert isinstance(event, Partner.CommercialTermsSet)
    event.changes["credit_limit"] = {"amount": amount, "currency": "EUR"}
    app.recorder.insert_events([app.mapper.to_stored_event(event)])


def test_an_older_event_with_such_an_amount_projects_and_rebuilds(
    db: Database, app: Partnerbook
) -> None:
    env = db.eventsourcing_env(2, 5)
    tiny = app.create_partner("COMPANY", {"name": "Tiny"}, AUDIT).id
    long = app.create_partner("COMPANY", {"name": "Long"}, AUDIT).id
    _raw_terms(app, tiny, "1E-99999")
    _raw_terms(app, long, "0." + "3" * 20_000)
    after = app.create_partner("COMPANY", {"name": "After"}, AUDIT).id
    live = construct_view(env)
    Projector(app, RegistryProjection(live), db, batch_size=7).catch_up()
    with psycopg.connect(db.conninfo()) as conn:
        limits: dict[UUID, Decimal | None] = dict(
            conn.execute(
                "SELECT id, credit_limit_amount FROM partners WHERE id = ANY(%s)",
                ([tiny, long, after],),
            ).fetchall()
        )
    assert limits[tiny] == 0
    rounded = limits[long]
    assert rounded is not None and Decimal("0.3333") < rounded < Decimal("0.3334")
    assert limits[after] is None
    rebuilt = construct_view(env, prefix="rebuild_")
    Projector(app, RegistryProjection(rebuilt), db, batch_size=1).catch_up()
    assert table_rows(db, "partners") == table_rows(db, "rebuild_partners")
