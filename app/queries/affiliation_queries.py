"""Affiliations and bank accounts from their read models: by id, those of a partner,
how many a partner has (the limits), who else holds an IBAN (the DUPLICATE warning), and
the conditions `partners(filter: {affiliatedWith})` and the IBAN search add."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from uuid import UUID

from psycopg.sql import SQL, Composable, Identifier, Literal

from app.domain.affiliation import MAX_AFFILIATIONS
from app.domain.bank_account import compact_iban
from app.queries.record_pages import RecordReader


@dataclass(frozen=True)
class AffiliationRow:
    id: UUID
    partner_id: UUID
    company_id: UUID
    role: str | None
    function: str | None
    start_date: date | None
    end_date: date | None
    version: int
    created_at: datetime
    updated_at: datetime
    ended_at: datetime | None
    """When `endAffiliation` was recorded."""


@dataclass(frozen=True)
class BankAccountRow:
    id: UUID
    partner_id: UUID
    iban: str | None
    bic: str | None
    holder_name: str | None
    currency: str | None
    version: int
    created_at: datetime
    updated_at: datetime
    removed_at: datetime | None


def in_force(day: date) -> Composable:
    """An affiliation (alias a) in force on `day`: started (or no start date), not ended
    (its end date is the first day it no longer holds)."""
    return SQL(
        "((a.start_date IS NULL OR a.start_date <= {d}) AND (a.end_date IS NULL OR a.end_date > {d}))"
    ).format(d=Literal(day))


def as_of(at: datetime) -> Composable:
    """An affiliation (alias a) listed as in force at the past instant `at`: recorded by
    then, not ended by then (by `endAffiliation` recorded later, or else by its dates)."""
    return SQL(
        "(a.created_at <= {at} AND (a.start_date IS NULL OR a.start_date <= {d}) AND "
        "CASE WHEN a.ended_at IS NOT NULL THEN a.ended_at > {at} "
        "ELSE a.end_date IS NULL OR a.end_date > {d} END)"
    ).format(at=Literal(at), d=Literal(at.date()))


def affiliated_condition(partner_id: UUID, today: date) -> Composable:
    """Partners (alias p) with an affiliation in force with `partner_id`: the people of a
    company, the companies of a person."""
    return SQL(
        "EXISTS (SELECT 1 FROM affiliations a WHERE {now} AND ((a.company_id = {x} AND "
        "a.partner_id = p.id) OR (a.partner_id = {x} AND a.company_id = p.id)))"
    ).format(now=in_force(today), x=Literal(partner_id))


def iban_condition(search: str) -> Composable | None:
    """Partners (alias p) holding the IBAN a search is, when it is one (else None)."""
    iban = compact_iban(search)
    if iban is None:
        return None
    return SQL(
        "EXISTS (SELECT 1 FROM bank_accounts b WHERE b.iban = {} AND b.partner_id = p.id "
        "AND b.removed_at IS NULL)"
    ).format(Literal(iban))


AffiliationsAsked = tuple[UUID, bool, datetime | None, int]
"""(partner, include ended ones, the past instant asked (None: now), how many at most)."""

_AFFILIATION_COLUMNS = SQL(", ").join(
    SQL("a.{}").format(Identifier(f.name)) for f in fields(AffiliationRow)
)


def _affiliations_query(
    ids: Sequence[UUID], include_ended: bool, at: datetime, past: datetime | None, limit: int
) -> Composable:
    when = SQL("TRUE") if include_ended else in_force(at.date())
    if past is not None:
        when = SQL("a.created_at <= {}").format(Literal(past)) if include_ended else as_of(past)
    return SQL(
        "SELECT r.id, {c} FROM unnest({ids}::uuid[]) r(id) CROSS JOIN LATERAL ("
        "SELECT * FROM affiliations a WHERE (a.partner_id = r.id OR a.company_id = r.id) "
        "AND {when} ORDER BY a.end_date DESC NULLS FIRST, a.start_date, a.id LIMIT {n}) a"
    ).format(c=_AFFILIATION_COLUMNS, ids=Literal(list(ids)), when=when, n=Literal(limit))


class AffiliationDirectory(RecordReader):
    async def affiliations(self, ids: Sequence[UUID]) -> dict[UUID, AffiliationRow]:
        query = SQL("SELECT * FROM affiliations WHERE id = ANY({})").format(Literal(list(ids)))
        return {row.id: row for row in await self._rows(query, AffiliationRow)}

    async def affiliation_ids_between(self, person_id: UUID, company_id: UUID) -> list[UUID]:
        """A person's affiliations with a company, ended ones too (at most a person's
        limit): what an activity naming the company is checked against."""
        query = SQL(
            "SELECT id FROM affiliations WHERE partner_id = {} AND company_id = {} "
            "ORDER BY id LIMIT {}"
        ).format(Literal(person_id), Literal(company_id), Literal(MAX_AFFILIATIONS))
        async with self.pool.connection() as conn:
            cur = await conn.execute(query)
            return [row[0] for row in await cur.fetchall()]

    async def affiliations_of(
        self, keys: Sequence[AffiliationsAsked], now: datetime
    ) -> dict[AffiliationsAsked, list[AffiliationRow]]:
        """For each key, the partner's affiliations: a person's or a company's, current
        first; those in force at `now` (all, with `include_ended`), or, for an instant
        in the past, as listed then (`as_of`). One query for the keys asking alike."""
        found: dict[AffiliationsAsked, list[AffiliationRow]] = {k: [] for k in keys}
        groups: dict[tuple[bool, datetime | None, int], list[UUID]] = {}
        for key in keys:
            groups.setdefault(key[1:], []).append(key[0])
        async with self.pool.connection() as conn:
            for (include_ended, at, limit), ids in groups.items():
                cur = await conn.execute(
                    _affiliations_query(ids, include_ended, at or now, at, limit)
                )
                for root, *values in await cur.fetchall():
                    found[(root, include_ended, at, limit)].append(AffiliationRow(*values))
        return found

    async def bank_accounts(
        self, ids: Sequence[UUID], *, include_removed: bool = False
    ) -> dict[UUID, BankAccountRow]:
        query = SQL("SELECT * FROM bank_accounts WHERE id = ANY({}) AND {}").format(
            Literal(list(ids)), SQL("TRUE" if include_removed else "removed_at IS NULL")
        )
        rows = await self._rows(query, BankAccountRow)
        return {row.id: row for row in rows}

    async def bank_accounts_of(
        self, partner_ids: Sequence[UUID]
    ) -> dict[UUID, list[BankAccountRow]]:
        query = SQL(
            "SELECT * FROM bank_accounts WHERE partner_id = ANY({}) AND removed_at IS NULL "
            "ORDER BY created_at, id"
        ).format(Literal(list(partner_ids)))
        found: dict[UUID, list[BankAccountRow]] = {p: [] for p in partner_ids}
        for row in await self._rows(query, BankAccountRow):
            found[row.partner_id].append(row)
        return found

    async def iban_holders(self, iban: str, except_partner: UUID) -> list[UUID]:
        """Other partners with an account of this (compact) IBAN (at most 10)."""
        query = SQL(
            "SELECT DISTINCT partner_id FROM bank_accounts WHERE iban = {} AND "
            "removed_at IS NULL AND partner_id <> {} ORDER BY partner_id LIMIT 10"
        ).format(Literal(iban), Literal(except_partner))
        async with self.pool.connection() as conn:
            cur = await conn.execute(query)
            return [row[0] for row in await cur.fetchall()]
