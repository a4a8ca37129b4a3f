"""importPartners with an `idempotencyKey`: rows without an external id get ids made of
the key and their row number, so a repeat finds the partners the first run created and
changes nothing; another row under the same key is refused, as any key used again with
another input; two runs racing each other create each partner once."""

from __future__ import annotations

import threading
from typing import Any
from uuid import UUID

import pytest
from starlette.testclient import TestClient

from app.application import Partnerbook
from app.application.importing.known import ImportLookups
from app.domain import odoo_columns as oc
from app.domain.audited import Audit
from app.domain.partner import Partner
from app.infra.database import Database
from tests.conftest import event_count, gql

IMPORT = """
mutation($input: ImportPartnersInput!) {
  importPartners(input: $input) {
    created updated unchanged
    rejected { row field message }
    partners { id name }
    userErrors { field code message }
  }
}"""

ROWS = [{"name": "Idem Alice"}, {"name": "Idem Bob"}]
FRENCH = {"Accept-Language": "fr-FR,fr;q=0.9"}
AUDIT = Audit(actor="test", request_id="r-import-repeat")


def run(client: TestClient, rows: list[dict[str, Any]], **input: Any) -> dict[str, Any]:
    variables = {"input": {"rows": rows, "idempotencyKey": "idem-k1", **input}}
    result: dict[str, Any] = gql(client, IMPORT, variables)["importPartners"]
    return result


def counts(result: dict[str, Any]) -> tuple[int, int, int]:
    return result["created"], result["updated"], result["unchanged"]


def named(client: TestClient, name: str) -> int:
    found = gql(client, "query($s: String!) { partners(search: $s) { totalCount } }", {"s": name})
    return int(found["partners"]["totalCount"])


def test_a_repeat_with_the_same_key_finds_its_partners_and_changes_nothing(
    client: TestClient, db: Database
) -> None:
    first = run(client, ROWS)
    assert counts(first) == (2, 0, 0)
    assert (first["rejected"], first["userErrors"]) == ([], [])
    events = event_count(db)
    for _ in range(2):  # every later retry too
        again = run(client, ROWS)
        assert (again["rejected"], again["userErrors"]) == ([], [])
        assert counts(again) == (0, 0, 2)
        assert again["partners"] == first["partners"]
        assert event_count(db) == events
    assert counts(run(client, ROWS, dryRun=True)) == (0, 0, 2)
    assert named(client, "Idem Alice") == named(client, "Idem Bob") == 1


def test_the_same_key_with_another_row_is_a_validation_error_and_imports_nothing(
    client: TestClient, db: Database
) -> None:
    assert counts(run(client, ROWS)) == (2, 0, 0)
    events = event_count(db)
    other = [{"name": "Idem Alice"}, {"name": "Idem Robert"}, {"name": "Idem Carol"}]
    for dry_run in (True, False):
        refused = run(client, other, dryRun=dry_run)
        assert counts(refused) == (0, 0, 0)
        assert (refused["rejected"], refused["partners"]) == ([], None)
        assert [(e["field"], e["code"]) for e in refused["userErrors"]] == [
            (["idempotencyKey"], "VALIDATION")
        ]
        assert "row 2" in refused["userErrors"][0]["message"]
    assert event_count(db) == events
    assert named(client, "Idem Robert") == named(client, "Idem Carol") == 0
    response = client.post(
        "/graphql",
        json={
            "query": IMPORT,
            "variables": {"input": {"rows": other, "idempotencyKey": "idem-k1"}},
        },
        headers=FRENCH,
    )
    message = response.json()["data"]["importPartners"]["userErrors"][0]["message"]
    assert message.startswith("cette clé d'idempotence"), message
    # A row added after those the key created is new: it is imported.
    more = run(client, [*ROWS, {"name": "Idem Dan"}])
    assert (counts(more), more["userErrors"]) == ((1, 0, 2), [])


def test_two_identical_imports_sent_at_once_create_each_partner_once(
    client: TestClient, db: Database
) -> None:
    rows = [{"name": f"Twin {i}"} for i in range(30)]
    start = threading.Barrier(2)
    answers: list[dict[str, Any]] = []
    failures: list[BaseException] = []

    def send() -> None:
        start.wait()
        try:
            answers.append(run(client, rows))
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert sorted(a["created"] for a in answers) == [0, 30]
    for answer in answers:
        assert (answer["rejected"], answer["userErrors"]) == ([], [])
        assert answer["created"] + answer["unchanged"] == 30, answer
    assert answers[0]["partners"] == answers[1]["partners"]
    assert named(client, "Twin") == 30
    again = run(client, rows)
    assert (counts(again), again["rejected"]) == ((0, 0, 30), [])


@pytest.fixture
def app(db: Database) -> Any:
    application = Partnerbook(env=db.eventsourcing_env(2, 10))
    yield application
    application.close()


def test_a_run_that_loses_the_race_to_the_same_rows_counts_them_unchanged(
    app: Partnerbook, db: Database
) -> None:
    """Both runs read the registry before either saved (stale look-ups): the second's
    saves collide with the first's. Its rows are the same, under the same key: they are
    the partners it would have made, not a conflict to run again."""

    def rows(*names: str) -> list[oc.OdooRow]:
        return [
            oc.read_row(n, {"name": name, "active": "0" if name == "Bob" else "1"})
            for n, name in enumerate(names, start=1)
        ]

    first = app.import_partners(rows("Alice", "Bob"), ImportLookups(), AUDIT, idempotency_key="k")
    assert (first.created, first.rejected) == (2, [])
    events = event_count(db)
    # Bob, created inactive, was archived by the first run: not by this one as well.
    second = app.import_partners(rows("Alice", "Bob"), ImportLookups(), AUDIT, idempotency_key="k")
    assert (second.created, second.unchanged, second.rejected) == (0, 2, [])
    assert second.partner_ids == first.partner_ids
    assert second.position is not None and second.position >= (first.position or 0)
    # Other rows under the key, racing: nothing saved, the rows to run again.
    third = app.import_partners(rows("Alice", "Rob"), ImportLookups(), AUDIT, idempotency_key="k")
    assert (third.created, third.unchanged) == (0, 0)
    assert [(p.row, p.column) for p in third.rejected] == [(1, "id"), (2, "id")]
    assert event_count(db) == events


def test_a_batch_that_lost_the_race_leaves_no_later_row_its_new_tags(
    app: Partnerbook, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other run saves between this run's check of a new tag's name and its save:
    that batch is not saved, and its tag with it. A later row naming the tag is given
    the one the other run saved, never the id of the one that was not (a partner tagged
    with a tag that does not exist)."""

    def rows(count: int) -> list[oc.OdooRow]:
        return [
            oc.read_row(n, {"name": f"Tagged {n}", "category_id": "Fresh"})
            for n in range(1, count + 1)
        ]

    save = app.save

    def the_other_run_first(*aggregates: Any, **kwargs: Any) -> Any:
        monkeypatch.setattr(app, "save", save)
        app.import_partners(rows(1), ImportLookups(), AUDIT, idempotency_key="t")
        return save(*aggregates, **kwargs)

    monkeypatch.setattr(app, "save", the_other_run_first)
    late = app.import_partners(rows(2), ImportLookups(), AUDIT, idempotency_key="t", batch_size=1)
    assert (late.unchanged, late.created, late.rejected) == (1, 1, [])
    first: Partner = app.repository.get(late.partner_ids[1])
    second: Partner = app.repository.get(late.partner_ids[2])
    assert second.values["tag_ids"] == first.values["tag_ids"]
    (tag_id,) = first.values["tag_ids"]
    assert app.repository.get(UUID(tag_id)).name == "Fresh"


def test_a_key_never_names_a_partner_imported_with_an_external_id(client: TestClient) -> None:
    """The ids a key gave its rows were uuid5 of `key:row` in the external ids' namespace:
    the id of a partner imported with the external id `K:1`. An import under key `K` then
    overwrote that unrelated partner (and, the other way round, the external id's import
    was refused for ever). Keys and external ids now name ids apart."""
    alice = run(
        client, [{"externalId": "idem-k1:1", "name": "Alice Original"}], idempotencyKey=None
    )
    assert counts(alice) == (1, 0, 0)
    bob = run(client, [{"name": "Bob Unrelated"}])
    assert counts(bob) == (1, 0, 0), bob
    assert bob["partners"][0]["id"] != alice["partners"][0]["id"]
    assert named(client, "Alice Original") == 1 and named(client, "Bob Unrelated") == 1
    # The other way round: a key's row first, then the external id its id once collided with.
    carol = run(client, [{"name": "Carol Keyed"}], idempotencyKey="idem-k2")
    assert counts(carol) == (1, 0, 0)
    dave = run(client, [{"externalId": "idem-k2:1", "name": "Dave"}], idempotencyKey=None)
    assert counts(dave) == (1, 0, 0), dave
    assert dave["userErrors"] == []


def test_a_repeat_of_an_import_keyed_before_finds_its_partners(
    client: TestClient, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Partners imported under a key before the ids were set apart carry the old ids: a
    repeat of that import still finds them and creates nothing."""
    from app.application.importing import known

    with monkeypatch.context() as old:
        old.setattr(known, "KEYED_NAMESPACE", known.EXTERNAL_ID_NAMESPACE)  # as before
        first = run(client, ROWS)
    assert counts(first) == (2, 0, 0)
    events = event_count(db)
    again = run(client, ROWS)
    assert counts(again) == (0, 0, 2), again
    assert [p["id"] for p in again["partners"]] == [p["id"] for p in first["partners"]]
    assert event_count(db) == events
