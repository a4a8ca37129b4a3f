"""The security tests' server answers every role over real HTTP."""

from __future__ import annotations

from tests.security.conftest import ROLES, Live


def test_each_role_is_answered_and_no_key_is_refused(live: Live) -> None:
    for role in ROLES:
        assert live.data("{ partners(first: 1) { totalCount } }", role=role)
    body = live.post("{ partners(first: 1) { totalCount } }", role=None).json()
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
