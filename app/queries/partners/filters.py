"""Which partners a filter and a search select, as one SQL condition on the partners
table (alias p); values are embedded as literals."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg.sql import SQL, Composable, Identifier, Literal, Placeholder

from app.projections.partner_resolution import searchable
from app.queries.activity_queries import overdue_condition
from app.queries.affiliation_queries import affiliated_condition, iban_condition
from app.queries.credit_queries import credit_exceeded_condition
from app.queries.due_queries import overdue_invoices_condition


@dataclass(frozen=True)
class PartnerFilter:
    """Conditions that all hold; `and_`, `or_` and `not_` compose filters."""

    kind: str | None = None
    is_customer: bool | None = None
    is_supplier: bool | None = None
    archived: bool | None = None
    country_code: str | None = None
    state_code: str | None = None
    lang: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    updated_after: datetime | None = None
    updated_before: datetime | None = None
    parent_id: UUID | None = None
    commercial_partner_id: UUID | None = None
    email: str | None = None
    vat: str | None = None
    ref: str | None = None
    external_id: str | None = None
    industry_id: UUID | None = None
    salesperson_id: UUID | None = None
    tag_ids: tuple[UUID, ...] | None = None
    has_overdue_activities: bool | None = None
    has_overdue_invoices: bool | None = None
    credit_exceeded: bool | None = None
    affiliated_with: UUID | None = None
    and_: tuple[PartnerFilter, ...] = ()
    or_: tuple[PartnerFilter, ...] = ()
    not_: PartnerFilter | None = None

    def mentions_archived(self) -> bool:
        nested = (*self.and_, *self.or_, *((self.not_,) if self.not_ else ()))
        return self.archived is not None or any(f.mentions_archived() for f in nested)


def compile_filter(f: PartnerFilter, now: datetime) -> Composable:
    """One parameter-free composable: values are embedded as literals by psycopg.
    `now` is the clock that decides which activities and invoices are overdue."""
    parts: list[Composable] = []
    for name, column in (
        ("kind", "kind"),
        ("is_customer", "is_customer"),
        ("is_supplier", "is_supplier"),
        ("archived", "archived"),
        ("country_code", "country_code"),
        ("state_code", "state_code"),
        ("lang", "lang"),
        ("parent_id", "parent_id"),
        ("commercial_partner_id", "commercial_partner_id"),
        ("vat", "effective_vat"),
        ("ref", "ref"),
        ("external_id", "external_id"),
        ("industry_id", "effective_industry_id"),
        ("salesperson_id", "effective_salesperson_id"),
    ):
        value = getattr(f, name)
        if value is not None:
            parts.append(SQL("{} = {}").format(Identifier(column), Literal(value)))
    for name, column, op in (
        ("created_after", "created_at", ">="),
        ("created_before", "created_at", "<"),
        ("updated_after", "updated_at", ">="),
        ("updated_before", "updated_at", "<"),
    ):
        value = getattr(f, name)
        if value is not None:
            parts.append(SQL("{} {} {}").format(Identifier(column), SQL(op), Literal(value)))
    if f.tag_ids is not None:
        parts.append(_tagged_with(f.tag_ids))
    conditions: tuple[tuple[bool | None, Callable[[], Composable]], ...] = (
        (f.has_overdue_activities, lambda: overdue_condition(now, SQL("p.id"))),
        (f.has_overdue_invoices, lambda: overdue_invoices_condition(now, SQL("p"))),
        (f.credit_exceeded, lambda: credit_exceeded_condition(SQL("p"))),
    )
    for wanted, holds in conditions:
        if wanted is not None:
            parts.append(holds() if wanted else SQL("({}) IS NOT TRUE").format(holds()))
    if f.affiliated_with is not None:
        parts.append(affiliated_condition(f.affiliated_with, now.date()))
    if f.email is not None:
        parts.append(SQL("email_normalized = {}").format(Literal(f.email.strip().lower())))
    parts.extend(SQL("({})").format(compile_filter(sub, now)) for sub in f.and_)
    if f.or_:
        parts.append(
            SQL("({})").format(
                SQL(" OR ").join(SQL("({})").format(compile_filter(s, now)) for s in f.or_)
            )
        )
    if f.not_ is not None:
        # The complement: NOT of an unknown (a comparison with an empty field) is unknown.
        parts.append(SQL("({}) IS NOT TRUE").format(compile_filter(f.not_, now)))
    return SQL(" AND ").join(parts) if parts else SQL("TRUE")


def _tagged_with(tag_ids: Sequence[UUID]) -> Composable:
    """Tagged with any of the tags or any of their descendants (resolved now, so a tag
    moved under another one counts at once)."""
    return SQL(
        "EXISTS (SELECT 1 FROM partner_tags pt WHERE pt.partner_id = p.id AND pt.tag_id "
        "IN (WITH RECURSIVE subtree(id) AS (SELECT id FROM tags WHERE id = ANY({ids}) "
        "UNION SELECT t.id FROM tags t JOIN subtree s ON t.parent_id = s.id) "
        "SELECT id FROM subtree))"
    ).format(ids=Literal(list(tag_ids)))


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


_SEARCH_TERM = SQL("SELECT btrim({})").format(searchable(Placeholder())).as_string(None)
"""Rendered once: composing and rendering it cost each search ~12 µs."""


async def search_term(conn: Any, search: str | None) -> str | None:
    """The search as it is matched: lower-case, accents removed and runs of spaces
    collapsed by the same SQL that built the indexed text (`searchable`), spaces around
    it left out."""
    if search is None or not search.strip():
        return None
    cur = await conn.execute(_SEARCH_TERM, (search,))
    row = await cur.fetchone()
    return (str(row[0]) or None) if row else None


def search_condition(term: str, search: str) -> Composable:
    """A substring of the searchable text (trigram index), or of the phone digits when
    the search has at least three digits and nothing but phone characters."""
    text = SQL("p.search_text LIKE {}").format(Literal(f"%{_like_escape(term)}%"))
    iban = iban_condition(search)
    if iban is not None:
        return SQL("({} OR {})").format(text, iban)
    # Numbers are stored in E.164: a national trunk prefix ("02 …") is not in them.
    digits = "".join(ch for ch in search if ch.isdigit()).lstrip("0")
    phone_like = all(ch.isdigit() or ch in " +-./()" for ch in search.strip())
    if len(digits) >= 3 and phone_like:
        phone = SQL("p.phone_digits LIKE {}").format(Literal(f"%{digits}%"))
        return SQL("({} OR {})").format(text, phone)
    return text


def where_clause(f: PartnerFilter | None, now: datetime) -> Composable:
    f = f or PartnerFilter()
    base = compile_filter(f, now)
    if not f.mentions_archived():
        return SQL("({}) AND NOT archived").format(base)
    return base


def selection_clause(
    where: PartnerFilter | None, now: datetime, term: str | None, search: str | None
) -> Composable:
    """The filter and the search as one condition on the partners table (alias p)."""
    clause = where_clause(where, now)
    if term or search:
        clause = SQL("{} AND {}").format(clause, search_condition(term or "", search or ""))
    return clause
