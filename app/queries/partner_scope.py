"""Whose records a partner's 360° view shows: the partner itself, and its contacts if it is
a commercial partner (a company's view takes in the records of the people under it); and
activities that name a company of the scope (`companyId`), whoever they are with."""

from __future__ import annotations

from typing import Any

from psycopg.sql import SQL, Composable

SCOPE = SQL(
    "SELECT scope_root.id FROM partners scope_root WHERE scope_root.id = {root} "
    "UNION ALL SELECT scope_member.id FROM partners scope_root JOIN partners scope_member "
    "ON scope_member.commercial_partner_id = scope_root.id AND scope_member.id <> scope_root.id "
    "WHERE scope_root.id = {root} AND scope_root.commercial_partner_id = scope_root.id"
)
"""The partners whose records a partner's view shows: itself, and its contacts if it is
a commercial partner. Two arms, each read along an index (the primary key, then
`commercial_partner_id`): one join on `member.id = root.id OR member.commercial_partner_id
= root.id` could use neither and read every partner."""

SCOPES = SQL(
    "SELECT scope_root.id AS root, scope_root.id AS member FROM partners scope_root "
    "WHERE scope_root.id = ANY({roots}) UNION ALL SELECT scope_root.id, scope_member.id "
    "FROM partners scope_root JOIN partners scope_member "
    "ON scope_member.commercial_partner_id = scope_root.id AND scope_member.id <> scope_root.id "
    "WHERE scope_root.id = ANY({roots}) AND scope_root.commercial_partner_id = scope_root.id"
)


def scope_of(root: Any) -> Composable:
    return SQL("({})").format(SCOPE.format(root=root))


def scopes_of(roots: Any) -> Composable:
    """The scopes of many partners at once, as the rows (root, member) of a relation to
    join on: the same members as `scope_of(root)` for each partner of the uuid array
    `roots`, each root once however often it is given. For batches: a correlated `scope_of(r.id)`
    in a join condition is run again for every row it is joined with (every document, for
    every partner of a page)."""
    return SQL("({})").format(SCOPES.format(roots=roots))


def activity_in_view(root: Any, activity: str = "a") -> Composable:
    """An activity (alias `activity`) shows in the view of `root`: its partner is in the
    scope, or it names a company in it (`companyId`; an affiliation alone never counts)."""
    return SQL("({a}.partner_id = ANY(ARRAY{s}) OR {a}.company_id = ANY(ARRAY{s}))").format(
        a=SQL(activity), s=scope_of(root)
    )


def entries_in_view(root: Any) -> Composable:
    """The timeline rows of the view of `root` (to select from): those filed under a
    partner of the scope, then those of activities naming a company in it (filed
    elsewhere). Two indexed branches: one condition with OR would scan the timeline."""
    return SQL(
        "(SELECT * FROM timeline WHERE partner_id IN {s} UNION ALL SELECT * FROM timeline "
        "WHERE subject_type = 'Activity' AND subject_id IN (SELECT named.id FROM activities "
        "named WHERE named.company_id IN {s}) AND partner_id NOT IN {s})"
    ).format(s=scope_of(root))


def entry_in_view(root: Any, entry: str = "t") -> Composable:
    """A timeline entry (alias `entry`) shows in the view of `root`: filed under a partner
    of the scope, or about an activity that names a company in it. For rows already
    bounded otherwise (the change feed reads a range of positions)."""
    return SQL(
        "({t}.partner_id = ANY(ARRAY{s}) OR ({t}.subject_type = 'Activity' AND "
        "{t}.subject_id = ANY(ARRAY(SELECT named.id FROM activities named "
        "WHERE named.company_id = ANY(ARRAY{s})))))"
    ).format(t=SQL(entry), s=scope_of(root))
