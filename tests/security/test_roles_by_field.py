"""Roles by field: what each role may read is the table in docs/security.md ("Roles and
fields"), and a running server holds to it for every field reachable from Query (over
HTTP) and from Subscription (over WebSocket). A viewer sees that something changed, when
and by whom, and today's values; never the past."""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from graphql import (
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    OperationType,
    get_named_type,
    is_leaf_type,
    is_required_argument,
)

from app.infra.api_keys import ROLES
from app.schema import access
from app.schema.access import READ_RULES, roles_table
from app.schema.auth import operation_refusal, refusal
from app.schema.ids import to_global_id
from app.schema.live.cursors import encode_cursor
from app.schema.schema import build_schema
from tests.e2e.ws_client import Subscription, websocket
from tests.security.conftest import Live

DOC = Path(__file__).parents[2] / "docs" / "security.md"
START = encode_cursor(0)
HISTORY = ("Query", "partnerHistory")

TIMELINE = """query($id: ID!) { partner(id: $id) { name timeline(first: 5) {
  nodes { kind occurredAt actor %s } } } }"""


# ---------------------------------------------------------------- the table in the doc


def doc_table() -> tuple[dict[tuple[str, str], frozenset[str]], frozenset[str]]:
    """The roles-by-fields table under "## Roles and fields": the roles of each listed
    field, and those of every other field."""
    text = DOC.read_text()
    section = text.split("## Roles and fields", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in rows[0].strip("|").split("|")]
    roles = header[1:-1]
    assert sorted(roles) == sorted(ROLES), header
    table: dict[tuple[str, str], frozenset[str]] = {}
    default: frozenset[str] | None = None
    for row in rows[2:]:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        allowed = frozenset(r for r, mark in zip(roles, cells[1:-1], strict=True) if mark == "yes")
        field = re.fullmatch(r"`(\w+)\.(\w+)`", cells[0])
        if field is None:
            assert cells[0] == "every other field", row
            default = allowed
        else:
            table[(field[1], field[2])] = allowed
    assert default is not None, "the table needs an `every other field` row"
    return table, default


def test_the_doc_table_is_the_code_table() -> None:
    section = DOC.read_text().split("## Roles and fields", 1)[1].split("\n## ", 1)[0]
    assert roles_table() in section, "docs/security.md: paste access.roles_table() there"
    table, default = doc_table()
    assert table == {key: rule.roles for key, rule in READ_RULES.items()}
    assert default == frozenset(ROLES)


def test_every_listed_field_is_in_the_schema() -> None:
    schema = build_schema()._schema
    for type_name, name in READ_RULES:
        kind = schema.get_type(type_name)
        assert isinstance(kind, GraphQLObjectType), type_name
        assert name in kind.fields, f"{type_name}.{name}"


def test_what_is_refused_as_a_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    """Mutations by role, and a subscription whose one root field the role may not read;
    a query's unreadable fields are refused one by one as they run, not as a whole."""
    rules = {**access.READ_RULES, ("Subscription", "timeline"): access.READ_RULES[HISTORY]}
    monkeypatch.setattr(access, "READ_RULES", rules)
    access.unreadable_by.cache_clear()
    try:
        timeline = [("Subscription", "timeline"), ("TimelineEntry", "kind")]
        assert operation_refusal("viewer", OperationType.SUBSCRIPTION, timeline) is not None
        assert operation_refusal("auditor", OperationType.SUBSCRIPTION, timeline) is None
        changes = [("Subscription", "partnerChanged"), ("PartnerEvent", "changes")]
        assert operation_refusal("viewer", OperationType.SUBSCRIPTION, changes) is None
        assert operation_refusal("viewer", OperationType.QUERY, [HISTORY]) is None
        assert refusal("viewer", OperationType.QUERY, [HISTORY]) is not None
        create = [("Mutation", "createPartner")]
        assert operation_refusal("auditor", OperationType.MUTATION, create) is not None
    finally:
        access.unreadable_by.cache_clear()


# ---------------------------------------------------------------- focused behaviour


def seed(live: Live) -> str:
    """A company with a contact, renamed with a reason; returns the company's id."""
    create = """mutation($input: CreatePartnerInput!) { createPartner(input: $input) {
      partner { id } userErrors { code } } }"""
    company = live.data(create, {"input": {"kind": "COMPANY", "name": "Harbour Lights"}})
    company_id: str = company["createPartner"]["partner"]["id"]
    person = {"kind": "PERSON", "name": "Mira Olsen", "parentId": company_id}
    assert live.data(create, {"input": person})["createPartner"]["userErrors"] == []
    update = """mutation($input: UpdatePartnerInput!) { updatePartner(input: $input) {
      userErrors { code } } }"""
    rename = {"id": company_id, "name": "Harbour Lights SA", "reason": "was Harbour Lights"}
    assert live.data(update, {"input": rename})["updatePartner"]["userErrors"] == []
    return company_id


def codes(body: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code", e) for e in body.get("errors") or []]


def test_a_viewer_sees_that_something_changed_but_not_the_old_values(live: Live) -> None:
    company = seed(live)
    answered = live.data(TIMELINE % "", {"id": company}, role="viewer")["partner"]
    assert answered["name"] == "Harbour Lights SA"
    assert [n["kind"] for n in answered["timeline"]["nodes"]][:1] == ["PARTNER_UPDATED"]
    for field in ("changes", "reason", "summary"):
        body = live.post(TIMELINE % field, {"id": company}, role="viewer").json()
        assert codes(body) and set(codes(body)) == {"FORBIDDEN"}, body
        assert body["errors"][0]["path"][:3] == ["partner", "timeline", "nodes"]
        assert body["errors"][0]["path"][-1] == field
        assert 'Harbour Lights"' not in json.dumps(body) and "was Harbour" not in json.dumps(body)
        if field == "reason":  # nullable: null, the rest of the answer kept
            nodes = body["data"]["partner"]["timeline"]["nodes"]
            assert len(nodes) == 3 and {n["reason"] for n in nodes} == {None}
            assert nodes[0]["kind"] == "PARTNER_UPDATED" and nodes[0]["actor"] == "sec-admin"
        else:  # a refused non-null field nulls its parent, up to the nullable `partner`
            assert body["data"] == {"partner": None}
    for role in ("admin", "editor", "auditor"):
        nodes = live.data(TIMELINE % "changes reason", {"id": company}, role=role)["partner"]
        assert nodes["timeline"]["nodes"][0]["reason"] == "was Harbour Lights"


def test_a_plan_made_for_a_reader_of_the_past_never_serves_a_viewer(live: Live) -> None:
    """The short path's plans outlive their request (app/schema/execution.py): one made
    while an auditor read the reasons of the same document must not let a viewer's
    request read them past its role's check."""
    company = seed(live)
    query = TIMELINE % "reason"
    for _ in range(3):
        nodes = live.data(query, {"id": company}, role="auditor")["partner"]["timeline"]["nodes"]
        assert nodes[0]["reason"] == "was Harbour Lights"
    body = live.post(query, {"id": company}, role="viewer").json()
    assert set(codes(body)) == {"FORBIDDEN"} and len(codes(body)) == 3, body
    assert {n["reason"] for n in body["data"]["partner"]["timeline"]["nodes"]} == {None}
    assert "was Harbour" not in json.dumps(body)
    nodes = live.data(query, {"id": company}, role="auditor")["partner"]["timeline"]["nodes"]
    assert nodes[0]["reason"] == "was Harbour Lights"


def test_a_refused_field_leaves_the_rest_of_the_answer(live: Live) -> None:
    company = seed(live)
    query = """query($id: ID!) { partner(id: $id) { name }
      partnerAsOf(id: $id, version: 1) { name } }"""
    body = live.post(query, {"id": company}, role="viewer").json()
    assert body["data"] == {"partner": {"name": "Harbour Lights SA"}, "partnerAsOf": None}
    assert [(e["path"], e["extensions"]["code"]) for e in body["errors"]] == [
        (["partnerAsOf"], "FORBIDDEN")
    ]
    past = live.data(query, {"id": company}, role="auditor")["partnerAsOf"]
    assert past == {"name": "Harbour Lights"}
    history = """query($id: ID!) { partnerHistory(id: $id) { nodes { changes { old } } } }"""
    body = live.post(history, {"id": company}, role="viewer").json()
    assert body["data"] is None  # partnerHistory is non-null: nothing above it to null
    assert [e["path"] for e in body["errors"]] == [["partnerHistory"]]
    olds = live.data(history, {"id": company}, role="auditor")["partnerHistory"]["nodes"]
    assert {"old": "Harbour Lights"} in [c for n in olds for c in n["changes"]]


def test_fragments_and_node_reach_the_same_rule(live: Live) -> None:
    company = seed(live)
    query = """query($id: ID!) { node(id: $id) { ... on Partner { ...T } } }
      fragment T on Partner { timeline(first: 1) { edges { node { changes } } } }"""
    body = live.post(query, {"id": company}, role="viewer").json()
    assert codes(body) == ["FORBIDDEN"] and body["data"] == {"node": None}
    assert live.data(query, {"id": company}, role="auditor")["node"]["timeline"]


def test_mutations_are_still_refused_as_a_whole(live: Live) -> None:
    mutation = """mutation { createPartner(input: {kind: COMPANY, name: "Nope"}) {
      partner { id } } }"""
    for role in ("viewer", "auditor"):
        body = live.post(mutation, role=role).json()
        assert codes(body) == ["FORBIDDEN"] and body.get("data") is None
    total = live.data("{ partners { totalCount } }")["partners"]["totalCount"]
    assert total == 0


async def _first_result(sub: Subscription, query: str, within: float = 20) -> dict[str, Any]:
    """The first result of `query` over an open connection (data and errors), then stops
    that operation."""
    op_id = await sub.subscribe(query)
    try:
        while True:
            async with asyncio.timeout(within):
                message = json.loads(await sub.ws.recv())
            if message.get("id") not in (None, op_id):
                continue  # a late message of an operation stopped before
            if message["type"] in ("next", "data"):
                payload: dict[str, Any] = message["payload"]
                return payload
            if message["type"] == "error":
                return {"data": None, "errors": message["payload"]}
            if message["type"] == "ping":
                await sub.ws.send(json.dumps({"type": "pong"}))
            assert message["type"] in ("ka", "ping", "pong"), message
    finally:
        await sub.ws.send(json.dumps({"id": op_id, "type": "complete"}))


async def first_over_websocket(live: Live, role: str, query: str) -> dict[str, Any]:
    # A connection per operation: on one connection, a subscription started right after
    # others were stopped sometimes never answered (a DataLoader of the connection left
    # waiting by a stopped one?); not this test's subject.
    async with websocket(live.base, key=live.keys[role]) as sub:
        return await _first_result(sub, query)


def test_over_websocket_a_viewer_gets_no_change_payload(live: Live) -> None:
    company = seed(live)
    changed = 'subscription { partnerChanged(after: "%s") { eventType partner { name } %s } }'
    timeline = 'subscription { timeline(partnerId: "%s", after: "%s") { kind %s } }'

    async def run(role: str) -> list[dict[str, Any]]:
        queries = [
            changed % (START, ""),
            changed % (START, "changes"),
            timeline % (company, START, "reason"),
            "query { auditHead { position } }",
        ]
        return [await first_over_websocket(live, role, query) for query in queries]

    plain, change, reason, head = asyncio.run(run("viewer"))
    assert plain == {
        "data": {
            "partnerChanged": {
                "eventType": "PARTNER_CREATED",
                "partner": {"name": "Harbour Lights SA"},
            }
        }
    }
    assert codes(change) == ["FORBIDDEN"]
    assert change["errors"][0]["path"] == ["partnerChanged", "changes"]
    assert codes(reason) == ["FORBIDDEN"] and codes(head) == ["FORBIDDEN"]
    for role in ("admin", "auditor"):
        plain, change, reason, head = asyncio.run(run(role))
        assert change["data"]["partnerChanged"]["changes"]["name"] == "Harbour Lights"
        assert not codes(reason) and not codes(head)


# ---------------------------------------------------------------- the schema walk


@dataclass(frozen=True)
class Step:
    field: str
    args: str = ""
    on: str | None = None
    """The type condition of an inline fragment around the field's selection."""


Paths = dict[tuple[str, str], tuple[Step, ...]]

ARGUMENTS: dict[tuple[str, str], str] = {
    ("Query", "node"): 'id: "{partner}"',
    ("Query", "nodes"): 'ids: ["{partner}"]',
    ("Query", "partner"): 'id: "{partner}"',
    ("Query", "duplicateCandidates"): 'partnerId: "{partner}"',
    ("Query", "partnerHistory"): 'id: "{partner}"',
    ("Query", "partnerAsOf"): 'id: "{partner}", version: 1',
    ("Query", "notes"): 'partnerId: "{partner}"',
    ("Query", "partnerCounts"): "groupBy: [COUNTRY]",
    ("Query", "documentTotals"): "groupBy: [MONTH]",
    ("Query", "paymentSchedule"): (
        'paymentTermId: "{paymentTerm}", date: "2026-01-15", '
        'amount: {{ amount: "100.00", currency: "EUR" }}'
    ),
    ("Query", "webhookDeliveries"): f'endpointId: "{to_global_id("WebhookEndpoint", UUID(int=1))}"',
    ("Subscription", "activityChanged"): 'after: "{start}"',
    ("Subscription", "partnerChanged"): 'after: "{start}"',
    ("Subscription", "timeline"): 'partnerId: "{partner}", after: "{start}"',
}
"""Arguments of the fields that need some (subscriptions start at the beginning of the
log, so that each answers at once); every list with `first` asks for 2."""


def _arguments(parent: str, name: str, field: Any) -> str:
    args = ARGUMENTS.get((parent, name), "")
    required = [a for a, d in field.args.items() if is_required_argument(d)]
    missing = [a for a in required if a + ":" not in args.replace(" ", "")]
    assert not missing, f"add an argument of {parent}.{name} to ARGUMENTS: {missing}"
    if "first" in field.args:
        args = ", ".join(a for a in (args, "first: 2") if a)
    return f"({args})" if args else ""


def reachable(schema: GraphQLSchema, root: GraphQLObjectType) -> Paths:
    """Every (type, field) reachable from `root`, each with a shortest path to it.
    Abstract types (`node`, `subject`) are entered only for types no concrete path
    reaches."""
    paths: Paths = {}
    seen: dict[str, tuple[Step, ...]] = {root.name: ()}
    for abstract in (False, True):
        frontier = list(seen.items())
        while frontier:
            later: list[tuple[str, tuple[Step, ...]]] = []
            for type_name, path in frontier:
                kind = schema.get_type(type_name)
                assert isinstance(kind, GraphQLObjectType)
                for name, field in kind.fields.items():
                    step = Step(name, _arguments(type_name, name, field))
                    paths.setdefault((type_name, name), (*path, step))
                    target = get_named_type(field.type)
                    if isinstance(target, GraphQLObjectType):
                        targets = [(target, step)]
                    elif abstract and isinstance(target, GraphQLInterfaceType | GraphQLUnionType):
                        targets = [
                            (t, Step(name, step.args, t.name))
                            for t in schema.get_possible_types(target)
                        ]
                    else:
                        continue
                    for object_type, via in targets:
                        if object_type.name not in seen:
                            seen[object_type.name] = (*path, via)
                            later.append((object_type.name, (*path, via)))
            frontier = later
        if not abstract:
            frontier = list(seen.items())
    return paths


Tree = dict[Step, "Tree"]


def _render(schema: GraphQLSchema, type_name: str, tree: Tree, ids: dict[str, str]) -> str:
    kind = schema.get_type(type_name)
    assert isinstance(kind, GraphQLObjectType)
    parts = []
    for step, children in tree.items():
        target = get_named_type(kind.fields[step.field].type)
        text = step.field + step.args.format(**ids)
        if not is_leaf_type(target):
            inside = step.on or target.name
            inner = _render(schema, inside, children, ids) if children else "__typename"
            if step.on:
                inner = f"... on {step.on} {{ {inner} }}"
            text += f" {{ {inner} }}"
        parts.append(text)
    return " ".join(parts)


def operation(
    schema: GraphQLSchema, kind: str, paths: list[tuple[Step, ...]], ids: dict[str, str]
) -> str:
    """One operation selecting every path (`__typename` under an object at the end)."""
    tree: Tree = {}
    for path in paths:
        node = tree
        for step in path:
            node = node.setdefault(step, {})
    root = schema.query_type if kind == "query" else schema.subscription_type
    assert root is not None
    return f"{kind} {{ {_render(schema, root.name, tree, ids)} }}"


def first_refused(
    schema: GraphQLSchema, root: str, path: tuple[Step, ...], role: str
) -> list[str] | None:
    """Per the doc's table: the path of the first field on `path` that `role` may not
    read (None: it may read them all)."""
    table, default = doc_table()
    type_name = root
    names: list[str] = []
    for step in path:
        names.append(step.field)
        if role not in table.get((type_name, step.field), default):
            return names
        kind = schema.get_type(type_name)
        assert isinstance(kind, GraphQLObjectType)
        type_name = step.on or get_named_type(kind.fields[step.field].type).name
    return None


def outcome(body: dict[str, Any]) -> list[str] | None:
    """None when answered without error; else the path (names only) of the refusal (one
    error per list item reaching it)."""
    errors = body.get("errors") or []
    if not errors:
        assert body.get("data") is not None, body
        return None
    assert set(codes(body)) == {"FORBIDDEN"}, body
    paths = {tuple(p for p in e.get("path") or [] if isinstance(p, str)) for e in errors}
    assert len(paths) == 1, body
    return list(paths.pop())


def seed_registry(live: Live) -> dict[str, str]:
    """`seed`, plus a record of each kind around the company (so that every field on
    the way to a refused one has something to show, and every subscription an event)."""
    company = seed(live)
    mutations = [
        ("createTag", {"name": "VIP"}),
        ("createSegment", {"name": "Harbours", "search": "Harbour"}),
        (
            "scheduleActivity",
            {"partnerId": company, "dueDate": "2026-01-31", "summary": "Call back"},
        ),
        (
            "recordDocument",
            {
                "partnerId": company,
                "module": "SALES",
                "kind": "SALE_ORDER",
                "reference": "SO/1",
                "date": "2026-01-02",
                "amount": "120.00",
                "currency": "EUR",
            },
        ),
        ("createOpportunity", {"partnerId": company, "name": "Quay"}),
        ("logNote", {"partnerId": company, "body": "Quay visit"}),
        ("createPartner", {"kind": "COMPANY", "name": "Harbour Lights SA"}),
    ]
    for name, values in mutations:
        query = f"""mutation($input: {name[0].upper() + name[1:]}Input!) {{
          {name}(input: $input) {{ userErrors {{ code message }} }} }}"""
        assert live.data(query, {"input": values})[name]["userErrors"] == [], name
    term = live.data(
        """mutation($input: CreatePaymentTermInput!) {
          createPaymentTerm(input: $input) { paymentTerm { id } userErrors { code } } }""",
        {"input": {"name": "Net 30", "lines": [{"kind": "BALANCE", "days": 30}]}},
    )["createPaymentTerm"]["paymentTerm"]["id"]
    return {"partner": company, "paymentTerm": term, "start": START}


def _mismatches(
    schema: GraphQLSchema, kind: str, paths: Paths, results: dict[tuple[str, str, str], Any]
) -> list[str]:
    root = "Query" if kind == "query" else "Subscription"
    wrong = []
    for (role, type_name, name), body in sorted(results.items()):
        want = first_refused(schema, root, paths[(type_name, name)], role)
        got: list[str] | str | None
        try:
            got = outcome(body)
        except AssertionError as error:
            got = f"unexpected answer: {error}"
        if got != want:
            wrong.append(f"{role} {type_name}.{name}: expected {want}, got {got}")
    return wrong


def test_the_walks_reach_every_field_of_the_table() -> None:
    schema = build_schema()._schema
    assert schema.query_type is not None and schema.subscription_type is not None
    walked = {*reachable(schema, schema.query_type), *reachable(schema, schema.subscription_type)}
    assert set(READ_RULES) <= walked


def test_the_schema_walk_over_http(live: Live) -> None:
    """Every field reachable from Query, for every role: answered, or FORBIDDEN at the
    first field on the way that the role may not read, as the doc's table says."""
    ids = seed_registry(live)
    schema = build_schema()._schema
    assert schema.query_type is not None
    paths = reachable(schema, schema.query_type)
    assert len(paths) > 300
    results = {}
    for role in ROLES:
        for (type_name, name), path in paths.items():
            query = operation(schema, "query", [path], ids)
            results[(role, type_name, name)] = live.post(query, role=role).json()
    assert _mismatches(schema, "query", paths, results) == []
    refused = [k for k, body in results.items() if body.get("errors")]
    # Fields reached through an admin-only root field (API keys, webhooks) are refused to
    # all others; the walk can fail otherwise only for viewers (they are refused the past).
    admins_only = {n for (t, n), rule in READ_RULES.items() if rule.roles == {"admin"}}
    behind = {k for k, path in paths.items() if path and path[0].field in admins_only}
    assert ("Query", "apiKeys") in behind
    assert {r for r, t, n in refused if (t, n) not in behind} == {"viewer"}  # it can fail
    assert {(r, t, n) for r, t, n in refused if (t, n) in behind} == {
        (r, t, n) for r in ROLES if r != "admin" for t, n in behind
    }


def test_the_schema_walk_over_websocket(live: Live) -> None:
    """Every field reachable from Subscription, for every role, on one connection per
    role: the first event of each subscription is answered or refused as for HTTP."""
    ids = seed_registry(live)
    schema = build_schema()._schema
    assert schema.subscription_type is not None
    paths = reachable(schema, schema.subscription_type)
    assert ("PartnerEvent", "changes") in paths and ("TimelineEntry", "changes") in paths

    async def walk(role: str) -> dict[tuple[str, str, str], Any]:
        """Each field refused to `role` alone; those it may read by eight in one
        subscription (one answer without errors answers each)."""
        refused = {k: p for k, p in paths.items() if first_refused(schema, root, p, role)}
        readable: dict[str, list[tuple[Step, ...]]] = {}
        for key, path in paths.items():
            if key not in refused:
                readable.setdefault(path[0].field, []).append(path)
        groups = [g[i : i + 8] for g in readable.values() for i in range(0, len(g), 8)]
        found = {}
        for key, path in refused.items():
            found[(role, *key)] = await first_over_websocket(
                live, role, operation(schema, "subscription", [path], ids)
            )
        for group in groups:
            body = await first_over_websocket(
                live, role, operation(schema, "subscription", group, ids)
            )
            for key, path in paths.items():
                if path in group:
                    found[(role, *key)] = body
        return found

    root = schema.subscription_type.name
    results: dict[tuple[str, str, str], Any] = {}
    for role in ROLES:
        results.update(asyncio.run(walk(role)))
    assert len(results) == len(ROLES) * len(paths)
    assert _mismatches(schema, "subscription", paths, results) == []
