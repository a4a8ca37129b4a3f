"""The partner cube answers as counting the rows does: random histories (partners
created, changed in every dimension, moved under companies whose values they inherit,
archived and restored, tagged and untagged, tags moved in the tree, partners merged and
erased) through the API, then random filters counted from the cube and over the rows;
every cuboid equal to the rows grouped; and the same after a rebuild."""

from __future__ import annotations

import random
from typing import Any

import psycopg
from psycopg.sql import SQL, Identifier
from starlette.testclient import TestClient
from typer.testing import CliRunner

from app.cli import cli
from app.infra.database import Database
from app.projections.partner_counts import CUBOIDS, PartnerCube
from app.queries.partners.cube import FACET_DIMENSIONS, cube_facets, cube_total
from app.queries.partners.filters import PartnerFilter
from tests.conftest import gql
from tests.schema.catalog_ops import ADD_TAGS, REMOVE_TAGS
from tests.schema.partner_ops import ARCHIVE, RESTORE

COUNTRIES = ["BE", "FR", "DE", None]
STATES: dict[str | None, list[str | None]] = {
    "BE": ["BRU", "VAN"],
    "FR": [None],
    "DE": ["BY"],
    None: [None],
}
LANGS = ["fr_BE", "nl_BE", "en_US", None]
FACETS = """query($filter: PartnerFilter) { partnerFacets(filter: $filter) {
  countries { value count } tags { value count } roles { value count }
  kinds { value count } industries { value count } languages { value count }
  salespersons { value count } }
  partners(filter: $filter, first: 1) { totalCount totalCountIsEstimate } }"""
ROW_ONLY = {"createdAfter": "1900-01-01T00:00:00Z"}
"""A condition every partner meets that the cube cannot answer: counted over the rows."""


def mutate(client: TestClient, operation: str, field: str, /, **fields: Any) -> dict[str, Any]:
    result: dict[str, Any] = gql(client, operation, {"input": fields})[field]
    return result


class History:
    def __init__(self, client: TestClient, seed: int) -> None:
        self.client = client
        self.rng = random.Random(seed)
        self.partners: list[str] = []
        self.companies: list[str] = []
        self.tags: list[str] = []
        self.industries: list[str] = []
        self.salespersons: list[str] = []

    def catalogs(self) -> None:
        for i in range(3):
            self.industries.append(
                gql(
                    self.client,
                    "mutation($n: String!) { createIndustry(input: {name: $n}) "
                    "{ industry { id } } }",
                    {"n": f"Industry {i}"},
                )["createIndustry"]["industry"]["id"]
            )
            self.salespersons.append(
                gql(
                    self.client,
                    "mutation($n: String!) { createSalesperson(input: {name: $n}) "
                    "{ salesperson { id } } }",
                    {"n": f"Seller {i}"},
                )["createSalesperson"]["salesperson"]["id"]
            )
        for i in range(4):
            parent = self.rng.choice(self.tags) if self.tags and i % 2 else None
            self.tags.append(
                gql(
                    self.client,
                    "mutation($n: String!, $p: ID) { createTag(input: "
                    "{name: $n, parentId: $p}) { tag { id } } }",
                    {"n": f"T{i}", "p": parent},
                )["createTag"]["tag"]["id"]
            )

    def values(self) -> dict[str, Any]:
        rng = self.rng
        country = rng.choice(COUNTRIES)
        chosen = {
            "countryCode": country,
            "stateCode": rng.choice(STATES[country]),
            "lang": rng.choice(LANGS),
            "isCustomer": rng.random() < 0.5,
            "isSupplier": rng.random() < 0.3,
            "industryId": rng.choice([*self.industries, None]),
            "salespersonId": rng.choice([*self.salespersons, None]),
        }
        return {k: v for k, v in chosen.items() if rng.random() < 0.6}

    def step(self, n: int) -> None:
        rng, client = self.rng, self.client
        action = rng.choice(
            [
                "company",
                "person",
                "person",
                "update",
                "move",
                "archive",
                "restore",
                "tag",
                "untag",
                "retag",
                "merge",
                "erase",
            ]
        )
        if action in ("company", "person") or len(self.partners) < 3:
            kind = "COMPANY" if action == "company" or not self.companies else "PERSON"
            parent = rng.choice(self.companies) if kind == "PERSON" and rng.random() < 0.6 else None
            tags = rng.sample(self.tags, rng.choice([0, 0, 1, 2]))
            made = mutate(
                client,
                CREATE,
                "createPartner",
                kind=kind,
                name=f"P{n}",
                parentId=parent,
                tagIds=tags,
                **self.values(),
            )["partner"]
            if made is None:  # refused (a contact's commercial field): history too
                return
            self.partners.append(made["id"])
            if kind == "COMPANY":
                self.companies.append(made["id"])
            return
        who = rng.choice(self.partners)
        if action == "update":
            mutate(client, UPDATE, "updatePartner", id=who, **self.values())
        elif action == "move":
            mutate(client, UPDATE, "updatePartner", id=who, parentId=rng.choice(self.companies))
        elif action in ("archive", "restore"):
            mutate(client, ARCHIVE if action == "archive" else RESTORE, f"{action}Partner", id=who)
        elif action in ("tag", "untag"):
            operation, name = (
                (ADD_TAGS, "addPartnerTags")
                if action == "tag"
                else (REMOVE_TAGS, "removePartnerTags")
            )
            mutate(client, operation, name, id=who, tagIds=rng.sample(self.tags, 1))
        elif action == "retag":
            tag, parent = rng.choice(self.tags), rng.choice([*self.tags, None])
            mutate(client, UPDATE_TAG, "updateTag", id=tag, parentId=parent)
        elif action == "merge":
            other = rng.choice(self.partners)
            mutate(client, MERGE, "mergePartners", destinationId=who, sourceIds=[other])
        else:
            mutate(client, ERASE, "anonymizePartner", id=who)

    def a_filter(self, depth: int = 0) -> dict[str, Any]:
        rng = self.rng
        leaves: list[tuple[str, Any]] = [
            ("kind", rng.choice(["COMPANY", "PERSON"])),
            ("isCustomer", rng.random() < 0.5),
            ("isSupplier", rng.random() < 0.5),
            ("archived", rng.random() < 0.3),
            ("countryCode", rng.choice(["BE", "FR", "DE"])),
            ("stateCode", rng.choice(["BRU", "VAN", "BY"])),
            ("lang", rng.choice(["fr_BE", "nl_BE", "en_US"])),
            ("industryId", rng.choice(self.industries)),
            ("salespersonId", rng.choice(self.salespersons)),
            ("tagIds", rng.sample(self.tags, rng.choice([1, 2]))),
        ]
        chosen = dict(rng.sample(leaves, rng.choice([0, 1, 1, 2, 3])))
        if depth < 2 and rng.random() < 0.3:
            chosen["or"] = [self.a_filter(depth + 1) for _ in range(2)]
        if depth < 2 and rng.random() < 0.2:
            chosen["not"] = self.a_filter(depth + 1)
        return chosen


CREATE = """mutation($input: CreatePartnerInput!) { createPartner(input: $input) {
  partner { id } userErrors { code } } }"""
UPDATE = """mutation($input: UpdatePartnerInput!) { updatePartner(input: $input) {
  userErrors { code } } }"""
UPDATE_TAG = """mutation($input: UpdateTagInput!) { updateTag(input: $input) {
  userErrors { code } } }"""
MERGE = """mutation($input: MergePartnersInput!) { mergePartners(input: $input) {
  userErrors { code } } }"""
ERASE = """mutation($input: AnonymizePartnerInput!) { anonymizePartner(input: $input) {
  userErrors { code } } }"""


def cells(db: Database, prefix: str = "") -> dict[str, list[tuple[Any, ...]]]:
    """Every cuboid as stored (its rows summed by cell: a cell may have several rows
    between compactions), as stored row for row, and as the rows grouped now."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    cube = PartnerCube("public", prefix)
    with psycopg.connect(db.conninfo()) as conn:
        for (name, dims), statement in zip(CUBOIDS.items(), cube.grouped_statements(), strict=True):
            table = Identifier(f"{prefix}partner_cube_{name}")
            cols = SQL(", ").join(Identifier(d) for d in dims)
            summed = conn.execute(
                SQL("SELECT {cols}, sum(n) FROM {t} GROUP BY {cols} HAVING sum(n) <> 0").format(
                    cols=cols, t=table
                )
            ).fetchall()
            found[name] = sorted(summed, key=repr)
            stored = conn.execute(SQL("SELECT * FROM {}").format(table)).fetchall()
            found[f"{name} rows"] = sorted(stored, key=repr)
            grouped = conn.execute(statement).fetchall()
            found[f"{name} grouped"] = sorted(grouped, key=repr)
    return found


def assert_cube_exact(db: Database) -> None:
    """Every cell sums to the rows' count, none to zero or less; and once compacted
    (as the flush compacts: one statement a cuboid), the cuboids equal the rows grouped
    row for row, with no zero cell."""
    found = cells(db)
    for name in CUBOIDS:
        assert found[name] == found[f"{name} grouped"], name
        assert all(row[-1] > 0 for row in found[name]), name
    cube = PartnerCube("public")
    with psycopg.connect(db.conninfo()) as conn:
        for name in CUBOIDS:
            conn.execute(cube.compact_statement(name))
    found = cells(db)
    for name in CUBOIDS:
        assert found[f"{name} rows"] == found[f"{name} grouped"], name
        assert all(row[-1] > 0 for row in found[f"{name} rows"]), name


def compact_often(db: Database) -> None:
    """The flush compacts a cuboid once a few rows have been added (instead of
    thousands), so that the history runs through compactions at commit too."""
    with psycopg.connect(db.conninfo()) as conn:
        conn.execute("UPDATE partner_cube_sizes SET compact_from = 3")


def assert_answers_as_rows(client: TestClient, history: History, tries: int) -> None:
    for _ in range(tries):
        chosen = history.a_filter()
        from_cube = gql(client, FACETS, {"filter": chosen})
        from_rows = gql(client, FACETS, {"filter": {"and": [chosen, ROW_ONLY]}})
        assert from_cube == from_rows, chosen
        # `not` is the complement, partners with empty fields included: of the active
        # partners, a filter and its negation count every one exactly once.
        active: dict[str, Any] = {"archived": False}
        for extra in ([], [ROW_ONLY]):
            split = [
                total(client, {"and": [active, part, *extra]}) for part in (chosen, {"not": chosen})
            ]
            assert sum(split) == total(client, {"and": [active, *extra]}), chosen


def total(client: TestClient, chosen: dict[str, Any]) -> int:
    count: int = gql(client, FACETS, {"filter": chosen})["partners"]["totalCount"]
    return count


def test_cube_counts_as_the_rows_do(client: TestClient, db: Database) -> None:
    compact_often(db)
    history = History(client, seed=19)
    history.catalogs()
    for n in range(120):
        history.step(n)
        if n % 40 == 39:
            assert_cube_exact(db)
            assert_answers_as_rows(client, history, 15)
    assert_cube_exact(db)
    assert_answers_as_rows(client, history, 40)
    with psycopg.connect(db.conninfo()) as conn:
        merged, erased, archived, tagged = conn.execute(
            "SELECT count(*) FILTER (WHERE merged_into IS NOT NULL), count(*) FILTER (WHERE "
            "anonymized), count(*) FILTER (WHERE archived), (SELECT count(*) FROM partner_tags) "
            "FROM partners"
        ).fetchone() or (0, 0, 0, 0)
    assert min(merged, erased, archived, tagged) > 0, "the history left a kind of change out"
    with psycopg.connect(db.conninfo()) as conn:
        compacted = conn.execute("SELECT cuboid FROM partner_cube_sizes WHERE compacted > 0")
        assert {row[0] for row in compacted} == set(CUBOIDS), "a cuboid never compacted at commit"

    result = CliRunner().invoke(
        cli, ["projections", "rebuild", "registry"], env={"PARTNERBOOK_DATABASE_URL": db.dsn}
    )
    assert result.exit_code == 0, result.output
    compact_often(db)
    assert_cube_exact(db)
    for n in range(120, 160):  # the swapped-in tables' triggers keep the live cube
        history.step(n)
    assert_cube_exact(db)
    assert_answers_as_rows(client, history, 25)


def test_which_filters_the_cube_answers() -> None:
    assert cube_total(None) is not None
    assert cube_total(PartnerFilter(country_code="BE", or_=(PartnerFilter(lang="fr_BE"),)))
    assert cube_total(PartnerFilter(email="a@b.example")) is None
    assert cube_total(PartnerFilter(not_=PartnerFilter(parent_id=None, vat="X"))) is None
    # With a tag filter, the facets the tags' cuboid has (not industries, say).
    assert set(cube_facets(PartnerFilter(tag_ids=()))) == set(FACET_DIMENSIONS)
    tagged_customers = cube_facets(PartnerFilter(tag_ids=(), is_customer=True))
    assert set(tagged_customers) == {"countries", "kinds", "roles", "tags"}
    assert set(cube_facets(PartnerFilter(industry_id=None, lang="fr_BE"))) >= {"languages"}


NEW_PARTNERS = (
    "INSERT INTO partners (id, kind, country_code, version, created_at, updated_at, position) "
    "SELECT gen_random_uuid(), 'COMPANY', %s, 1, now(), now(), g FROM generate_series(1, %s) g"
)


def test_compaction_beside_a_commit_and_a_reader(db: Database) -> None:
    """A compaction running while the projector commits new cells, and read meanwhile:
    the new cells survive it, a reader sees every partner counted once throughout."""
    cube = PartnerCube("public")
    total = "SELECT sum(n) FROM partner_cube_base WHERE NOT archived"
    with (
        psycopg.connect(db.conninfo(), autocommit=True) as reader,
        psycopg.connect(db.conninfo()) as projector,
        psycopg.connect(db.conninfo()) as compactor,
    ):
        projector.execute(NEW_PARTNERS, ("BE", 3))
        projector.commit()
        projector.execute(NEW_PARTNERS, ("BE", 2))  # more of the same cell
        projector.execute(NEW_PARTNERS, ("FR", 1))
        projector.commit()
        assert reader.execute(total).fetchone() == (6,)
        compactor.execute(cube.compact_statement("base"))  # not yet committed
        assert reader.execute(total).fetchone() == (6,)
        projector.execute(NEW_PARTNERS, ("BE", 4))
        projector.commit()  # its flush appends beside the compaction
        assert reader.execute(total).fetchone() == (10,)
        compactor.commit()
        assert reader.execute(total).fetchone() == (10,)
    assert_cube_exact(db)


def test_a_cube_made_before_appends_after(db: Database) -> None:
    """Cuboids made with a unique index on their cells (before cells were appended) lose
    it when the tables are made again, so that a cell's second row can be appended."""
    cube = PartnerCube("public")
    with psycopg.connect(db.conninfo(), autocommit=True) as conn:
        conn.execute(
            "CREATE UNIQUE INDEX partner_cube_base_cell ON partner_cube_base "
            "(kind, is_customer, is_supplier, archived, country_code, lang) NULLS NOT DISTINCT"
        )
        for statement in [*cube.create_statements(), *cube.query_index_statements()]:
            conn.execute(statement)
        conn.execute(NEW_PARTNERS, ("BE", 1))
        conn.execute(NEW_PARTNERS, ("BE", 1))  # the same cell, another commit
        rows = conn.execute("SELECT count(*) FROM partner_cube_base").fetchone()
    assert rows == (2,)
    assert_cube_exact(db)
