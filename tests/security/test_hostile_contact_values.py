"""Values an editor sends that stopped the registry or broke a request (the audit of
commands, session 42):

- a phone, mobile, website or VAT had no length limit (only the text fields had their
  500 characters). A 6,000-digit phone or a VAT of 300,000 characters was recorded, then
  the projector failed on it for ever (a btree index row holds at most 2,704 bytes): every
  mutation after it waited out read-your-writes, and no change showed in queries;
- a VAT with a country prefix and more than 4,300 digits raised Python's limit on
  integer conversion inside python-stdnum: an INTERNAL error;
- a `reason` or an `idempotencyKey` had no limit: 900 KB of either was stored in
  immutable events.

Each is now a VALIDATION user error on its field, and nothing is recorded."""

from __future__ import annotations

import random
from typing import Any

import pytest

from tests.conftest import event_count
from tests.security.conftest import Live

CREATE = """mutation($i: CreatePartnerInput!) { createPartner(input: $i) {
  partner { id } userErrors { code field message } } }"""
UPDATE = """mutation($i: UpdatePartnerInput!) { updatePartner(input: $i) {
  partner { id } userErrors { code field message } } }"""
IMPORT = """mutation($i: ImportPartnersInput!) { importPartners(input: $i) {
  created userErrors { code field message } } }"""
SEARCH = "query($s: String!) { partners(search: $s) { totalCount } }"

DIGITS = "".join(random.Random(42).choice("0123456789") for _ in range(6_000))
LONG: dict[str, str] = {
    "phone": DIGITS,
    "mobile": DIGITS,
    "website": "https://example.com/" + "a" * 200_000,
    "vat": "1" * 300_000,
}


def _payload(live: Live, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    body = live.post(query, variables, role="editor").json()
    assert "errors" not in body, body
    [payload] = body["data"].values()
    result: dict[str, Any] = payload
    return result


@pytest.mark.parametrize("field", list(LONG))
def test_a_contact_value_past_its_limit_is_refused_and_the_registry_goes_on(
    live: Live, field: str
) -> None:
    before = event_count(live.db)
    payload = _payload(live, CREATE, {"i": {"kind": "COMPANY", "name": "Long", field: LONG[field]}})
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [("VALIDATION", [field])]
    assert event_count(live.db) == before
    company = _payload(live, CREATE, {"i": {"kind": "COMPANY", "name": "Afterwards Ltd"}})
    patch = {"id": company["partner"]["id"], field: LONG[field]}
    refused = _payload(live, UPDATE, {"i": patch})
    assert [e["code"] for e in refused["userErrors"]] == ["VALIDATION"]
    # The projection goes on: what was written after the attempts is found at once.
    assert live.data(SEARCH, {"s": "Afterwards"})["partners"]["totalCount"] == 1


def test_a_vat_past_pythons_integer_conversion_limit_is_a_validation_error(live: Live) -> None:
    vat = "BE" + "1" * 4_301
    payload = _payload(live, CREATE, {"i": {"kind": "COMPANY", "name": "Big VAT", "vat": vat}})
    assert [e["code"] for e in payload["userErrors"]] == ["VALIDATION"]
    rows = {"rows": [{"name": "Imported", "isCompany": True, "vat": vat}]}
    imported = _payload(live, IMPORT, {"i": rows})
    assert imported["created"] == 0


@pytest.mark.parametrize(("name", "value"), [("reason", "r" * 501), ("idempotencyKey", "k" * 256)])
def test_a_reason_or_an_idempotency_key_past_its_limit_is_refused(
    live: Live, name: str, value: str
) -> None:
    before = event_count(live.db)
    payload = _payload(live, CREATE, {"i": {"kind": "COMPANY", "name": "Why", name: value}})
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [("VALIDATION", [name])]
    company = _payload(live, CREATE, {"i": {"kind": "COMPANY", "name": "Target"}})["partner"]["id"]
    other = _payload(live, CREATE, {"i": {"kind": "COMPANY", "name": "Other"}})["partner"]["id"]
    before = event_count(live.db)
    bulk = """mutation($i: BulkUpdatePartnersInput!) { bulkUpdatePartners(input: $i) {
      changed userErrors { code field } } }"""
    merge = """mutation($i: MergePartnersInput!) { mergePartners(input: $i) {
      userErrors { code field } } }"""
    attempts = {
        "reason": [
            (UPDATE, {"id": company, "name": "Renamed"}),
            (bulk, {"ids": [company], "changes": {"archive": True}}),
            (merge, {"destinationId": company, "sourceIds": [other]}),
        ],
        "idempotencyKey": [
            (bulk, {"ids": [company], "changes": {"archive": True}}),
            (merge, {"destinationId": company, "sourceIds": [other]}),
            (IMPORT, {"rows": [{"name": "Imported", "isCompany": True}]}),
        ],
    }
    for query, given in attempts[name]:
        payload = _payload(live, query, {"i": {**given, name: value}})
        assert [e["code"] for e in payload["userErrors"]] == ["VALIDATION"], (query, payload)
    assert event_count(live.db) == before
