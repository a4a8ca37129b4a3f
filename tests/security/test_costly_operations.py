"""Costly operations from an ordinary key: fragment bombs, huge or deep filters (literal
and in variables), stored segments. Each is refused with LIMIT_EXCEEDED, quickly, and an
ordinary request made meanwhile is answered in about its usual time."""

from __future__ import annotations

import statistics
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx2 as httpx
from starlette.testclient import TestClient

from app.main import create_app
from app.schema.ids import to_global_id
from app.settings import Settings
from tests.conftest import gql
from tests.security.conftest import Live
from tests.security.instances import Instance

ORDINARY = "{ partners(first: 5) { totalCount nodes { id name } } }"
TRIVIAL = "{ __typename }"


def bomb(levels: int) -> str:
    """Each fragment spreads the next twice: 2**levels fields once expanded."""
    fragments = " ".join(
        f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels)
    )
    return f"query {{ ...F0 }} {fragments} fragment F{levels} on Query {{ __typename }}"


def refusal(live: Live, query: str, variables: dict[str, Any] | None = None, **kw: Any) -> str:
    """The message of the one LIMIT_EXCEEDED error the request gets."""
    body = live.post(query, variables, **kw).json()
    assert body.get("data") is None, body
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "LIMIT_EXCEEDED", error
    message: str = error["message"]
    return message


def tag_ids(n: int) -> list[str]:
    return [to_global_id("Tag", uuid.uuid4()) for _ in range(n)]


@contextmanager
def attacking(live: Live, attack: Callable[[httpx.Client], None]) -> Iterator[list[int]]:
    """Runs `attack` in a loop on its own connection until the block ends; yields the
    list of attacks completed (so a test can check some ran meanwhile)."""
    done: list[int] = []
    stop = threading.Event()

    def loop() -> None:
        with httpx.Client(timeout=120) as client:
            while not stop.is_set():
                attack(client)
                done.append(1)

    thread = threading.Thread(target=loop, name="attacker", daemon=True)
    thread.start()
    try:
        while not done:  # the attack is under way before anything is measured
            time.sleep(0.01)
        yield done
    finally:
        stop.set()
        thread.join(60)
        assert not thread.is_alive(), "the attacker is still waiting for an answer"


def assert_unaffected(live: Live, alone: float, attack: Callable[[httpx.Client], None]) -> None:
    """The ordinary request, measured while `attack` loops, stays within its usual time
    (a generous factor: the machine is shared)."""
    with attacking(live, attack):
        during = live.median_time(ORDINARY, n=7, role="viewer")
    assert during < max(10 * alone, alone + 0.5), (during, alone)


def test_a_fragment_bomb_is_refused_at_once_and_freezes_nothing(live: Live) -> None:
    trivial = live.median_time(TRIVIAL, n=9, role="viewer")
    alone = live.median_time(ORDINARY, n=7, role="viewer")
    query = bomb(30)

    assert "fragments are expanded" in refusal(live, query, role="viewer")
    times = []
    for _ in range(7):
        started = time.perf_counter()
        refusal(live, query, role="viewer")
        times.append(time.perf_counter() - started)
    assert statistics.median(times) < 20 * trivial, (statistics.median(times), trivial)

    def attack(client: httpx.Client) -> None:
        refusal(live, query, role="viewer", client=client)

    assert_unaffected(live, alone, attack)


def test_a_smaller_bomb_within_the_token_limit_is_refused_too(live: Live) -> None:
    # 12 levels: 4,096 fields expanded, over the 2,000 allowed; the document is tiny.
    assert "4096 fields" in refusal(live, bomb(12), role="viewer")
    # 10 levels (1,024 fields) is within the limits and answered.
    assert live.data(bomb(10), role="viewer") == {"__typename": "Query"}


def test_a_viewer_mutation_is_forbidden_before_its_size_is_looked_at(live: Live) -> None:
    fragments = " ".join(
        f"fragment F{i} on Mutation {{ ...F{i + 1} ...F{i + 1} }}" for i in range(30)
    )
    query = f"mutation {{ ...F0 }} {fragments} fragment F30 on Mutation {{ __typename }}"
    body = live.post(query, role="viewer").json()
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]


PARTNERS_X10 = (
    "query($f: PartnerFilter) { "
    + " ".join(f"a{i}: partners(filter: $f) {{ totalCount }}" for i in range(10))
    + " }"
)


def test_huge_filters_in_variables_are_refused(live_lane: tuple[Live, Instance]) -> None:
    """Bodies of 100-200 KB: refused with LIMIT_EXCEEDED, by the heavy lane (they are
    larger than PARTNERBOOK_HEAVY_BODY_BYTES), so that decoding them never holds up the
    API process's ordinary requests. (Without the lane, as before it, decoding one took
    0.1-0.2 s of the event loop, and the ordinary request waited that long.)"""
    live, _ = live_lane
    alone = live.median_time(ORDINARY, n=7, role="viewer")
    tags = {"or": [{"tagIds": tag_ids(100)} for _ in range(50)]}  # 5,000 leaves
    overdue = {"or": [{"or": [{"hasOverdueActivities": True}] * 100}] * 100}  # 10,000

    message = refusal(live, PARTNERS_X10, {"f": tags}, role="viewer")
    assert "filter has 5000 leaves; at most 500" in message and "Query.partners" in message
    one = "query($f: PartnerFilter) { partners(filter: $f) { totalCount } }"
    assert "filter has 10000 leaves; at most 500" in refusal(live, one, {"f": overdue})

    def attack(client: httpx.Client) -> None:
        refusal(live, PARTNERS_X10, {"f": tags}, role="viewer", client=client)
        refusal(live, one, {"f": overdue}, role="viewer", client=client)

    assert_unaffected(live, alone, attack)


def test_filters_count_as_often_as_they_run(live: Live) -> None:
    ids = ", ".join(f'"{t}"' for t in tag_ids(60))
    ten = " ".join(
        f"a{i}: partners(filter: {{tagIds: [{ids}]}}) {{ totalCount }}" for i in range(10)
    )
    message = refusal(live, f"{{ {ten} }}", role="viewer")
    assert "filters have 600 leaves in all" in message
    # Each alone is well within the limits.
    assert live.data(f"{{ a0: partners(filter: {{tagIds: [{ids}]}}) {{ totalCount }} }}")


def test_a_large_literal_filter_is_refused(live: Live) -> None:
    leaf = "{hasOverdueActivities: true}"
    inner = "{or: [" + ", ".join([leaf] * 100) + "]}"
    literal = "{or: [" + ", ".join([inner] * 6) + "]}"  # 600 leaves in ~2,500 tokens
    message = refusal(live, f"{{ partners(filter: {literal}) {{ totalCount }} }}", role="viewer")
    assert "filter has 600 leaves; at most 500" in message


def nested(depth: int) -> dict[str, Any]:
    """`and`, `or` and `not` in turn, `depth` deep, built without recursion."""
    value: dict[str, Any] = {"isCustomer": True}
    for level in range(depth):
        match level % 3:
            case 0:
                value = {"not": value}
            case 1:
                value = {"and": [value, {"kind": "COMPANY"}]}
            case _:
                value = {"or": [value]}
    return value


def test_deeply_nested_filters_are_refused_without_a_recursion_error(live: Live) -> None:
    alone = live.median_time(ORDINARY, n=7, role="viewer")
    one = "query($f: PartnerFilter) { partners(filter: $f) { totalCount } }"
    for depth in (11, 20):
        message = refusal(live, one, {"f": nested(depth)}, role="viewer")
        assert "filter nesting deeper than 10" in message, depth
        assert "recursion" not in message
    # Deeper than a request body may nest: refused while the JSON is read (BAD_REQUEST).
    body = live.post(one, {"f": nested(300)}, role="viewer")
    assert body.status_code == 400, body.text
    (error,) = body.json()["errors"]
    assert error["extensions"]["code"] == "BAD_REQUEST", error
    assert "nests more than" in error["message"] and "recursion" not in error["message"]
    assert live.data(one, {"f": nested(10)}, role="viewer")["partners"]["totalCount"] == 0
    literal = "{isCustomer: true}"
    for _ in range(11):
        literal = f"{{not: {literal}}}"
    message = refusal(live, f"{{ partners(filter: {literal}) {{ totalCount }} }}")
    assert "filter nesting deeper than 10" in message
    # Deeper than graphql-core parses (200 brackets): its own refusal, coded the same way.
    literal = "{isCustomer: true}"
    for _ in range(300):
        literal = f"{{not: {literal}}}"
    assert "nested too deeply" in refusal(
        live, f"{{ partners(filter: {literal}) {{ totalCount }} }}"
    )

    def attack(client: httpx.Client) -> None:
        refusal(live, one, {"f": nested(20)}, role="viewer", client=client)

    assert_unaffected(live, alone, attack)


CREATE_SEGMENT = """mutation($f: PartnerFilter) { createSegment(input: {name: "Big", filter: $f}) {
  segment { id } userErrors { code message } } }"""
MEMBERS = """query($id: ID!) { node(id: $id) { ... on Segment {
  memberCount members(first: 5) { totalCount } } } }"""


def test_a_segment_with_a_too_costly_filter_is_refused(live: Live) -> None:
    big = {"or": [{"tagIds": tag_ids(100)} for _ in range(6)]}  # 600 leaves
    assert "filter has 600 leaves" in refusal(live, CREATE_SEGMENT, {"f": big}, role="editor")
    assert "nesting deeper than 10" in refusal(live, CREATE_SEGMENT, {"f": nested(12)})
    # Within the request limits but over the segment's own rule: a user error.
    payload = live.data(CREATE_SEGMENT, {"f": nested(8)}, role="editor")["createSegment"]
    assert [e["code"] for e in payload["userErrors"]] == ["VALIDATION"]
    segments = live.data("{ segments(first: 10) { nodes { id } } }")["segments"]["nodes"]
    assert segments == []


def test_a_stored_segment_over_the_limits_is_refused_when_read(live: Live, admin_key: str) -> None:
    """A segment stored under larger limits (or before there were any): its members and
    count are refused, not computed."""
    big = {"or": [{"tagIds": tag_ids(100)} for _ in range(6)]}
    lenient = live.settings.model_copy(update={"max_filter_leaves": 100_000})
    headers = {"Authorization": f"Bearer {admin_key}"}
    with TestClient(create_app(lenient), headers=headers) as old_server:
        created = gql(old_server, CREATE_SEGMENT, {"f": big})["createSegment"]
    assert created["userErrors"] == []
    segment_id = created["segment"]["id"]

    body = live.post(MEMBERS, {"id": segment_id}, role="viewer").json()
    codes = {e["extensions"]["code"] for e in body["errors"]}
    assert codes == {"LIMIT_EXCEEDED"}
    assert all("filter has 600 leaves" in e["message"] for e in body["errors"])
    assert live.data("{ segments(first: 5) { nodes { name } } }", role="viewer")


def test_stored_filters_count_as_often_as_they_run(live: Live) -> None:
    """A segment's stored filter runs each time its members or count are read; the walk
    cannot see it (8 aliases of one stored 500-leaf filter ran 4,000 leaves in 2.4 to 9.6 s,
    at a cost of 8). They count against the operation's filter leaves as they run: what
    fits is answered, the rest refused."""
    three_hundred = {"or": [{"tagIds": tag_ids(100)} for _ in range(3)]}
    created = live.data(CREATE_SEGMENT, {"f": three_hundred}, role="editor")["createSegment"]
    assert created["userErrors"] == []
    segment_id = created["segment"]["id"]
    eight = " ".join(
        f"a{i}: node(id: $id) {{ ... on Segment {{ memberCount }} }}" for i in range(8)
    )
    body = live.post(f"query($id: ID!) {{ {eight} }}", {"id": segment_id}, role="viewer").json()
    answered = [k for k, v in body["data"].items() if v is not None]
    assert len(answered) == 1, body  # 300 leaves fit in 500, 600 do not
    assert len(body["errors"]) == 7
    for error in body["errors"]:
        assert error["extensions"]["code"] == "LIMIT_EXCEEDED", error
        assert "leaves in all" in error["message"], error
    # Members and count of one segment: 600 leaves; each alone is answered.
    body = live.post(MEMBERS, {"id": segment_id}, role="viewer").json()
    assert [e["extensions"]["code"] for e in body["errors"]] == ["LIMIT_EXCEEDED"]
    one = "query($id: ID!) { node(id: $id) { ... on Segment { memberCount } } }"
    assert live.data(one, {"id": segment_id}, role="viewer")["node"]["memberCount"] == 0


def test_fields_of_one_name_cannot_make_validation_expensive(live: Live) -> None:
    """500 copies of one field are compared pairwise by graphql-core's validation: its
    budget stops that early, and the refusal is coded like the other limits."""
    alone = live.median_time(ORDINARY, n=7, role="viewer")
    query = "{ " + "partners(first: 1) { totalCount } " * 500 + "}"
    assert refusal(live, query, role="viewer") == "Validation aborted."

    def attack(client: httpx.Client) -> None:
        refusal(live, query, role="viewer", client=client)

    assert_unaffected(live, alone, attack)


def test_tags_past_the_counted_ones_count_as_they_are_read(
    settings: Settings, admin_key: str
) -> None:
    """Nothing in the domain bounds a partner's tags; the walk counts 20 a partner. A
    partner with 120 read through aliases returned six times what was counted. The tags
    past the counted ones spend from the operation's cost as they are read: what fits is
    answered whole, the rest refused (here with MAX_COST 400)."""
    small = settings.model_copy(update={"max_cost": 400})
    headers = {"Authorization": f"Bearer {admin_key}"}
    with TestClient(create_app(small), headers=headers) as client:
        tag = "mutation($n: String!) { createTag(input: {name: $n}) { tag { id } } }"
        ids = [gql(client, tag, {"n": f"T{i:03}"})["createTag"]["tag"]["id"] for i in range(120)]
        partner = gql(
            client,
            'mutation { createPartner(input: {kind: COMPANY, name: "Tagged"}) { partner { id } } }',
        )["createPartner"]["partner"]["id"]
        add = """mutation($id: ID!, $t: [ID!]!) { addPartnerTags(input: {id: $id, tagIds: $t}) {
          userErrors { code } } }"""
        for part in (ids[:60], ids[60:]):
            assert (
                gql(client, add, {"id": partner, "t": part})["addPartnerTags"]["userErrors"] == []
            )
        one = "query($id: ID!) { partner(id: $id) { tags { id } } }"
        assert len(gql(client, one, {"id": partner})["partner"]["tags"]) == 120
        five = " ".join(f"a{i}: partner(id: $id) {{ tags {{ id }} }}" for i in range(5))
        body = client.post(
            "/graphql",
            json={"query": f"query($id: ID!) {{ {five} }}", "variables": {"id": partner}},
        ).json()
    answered = [v for v in (body.get("data") or {}).values() if v is not None]
    assert answered and all(len(v["tags"]) == 120 for v in answered), body
    assert len(answered) < 5, body
    assert body["errors"] and all(
        e["extensions"]["code"] == "LIMIT_EXCEEDED" for e in body["errors"]
    ), body
