"""Whose records a partner's 360° view shows: the partner itself, and its contacts if it is
a commercial partner (a company's view takes in the records of the people under it)."""

from __future__ import annotations

from typing import Any

from psycopg.sql import SQL, Composable

SCOPE = SQL(
    "SELECT scope_member.id FROM partners scope_root JOIN partners scope_member "
    "ON scope_member.id = scope_root.id OR (scope_root.commercial_partner_id = scope_root.id "
    "AND scope_member.commercial_partner_id = scope_root.id) WHERE scope_root.id = {root}"
)
"""The partners whose records a partner's view shows: itself, and its contacts if it is
a commercial partner."""


def scope_of(root: Any) -> Composable:
    return SQL("({})").format(SCOPE.format(root=root))
