"""The `affiliations` and `bank_accounts` read models: a person's places in companies,
and partners' bank accounts (IBAN compact, for search and the duplicate warning).

Erasure of a person clears its affiliations' role and function and its accounts' IBAN and
holder (a rebuild reads them as null: the same rows). A removed account keeps its row
(`removed_at`), so its timeline entries still find their partner; lists leave it out."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier

from app.domain.affiliation import Affiliation
from app.domain.bank_account import BankAccount
from app.domain.partner import Partner
from app.projections.erasing import carried


def _set(table: Identifier, columns: list[str]) -> Composed:
    sets = SQL(", ").join(SQL("{} = %s").format(Identifier(c)) for c in columns)
    return SQL("UPDATE {t} SET {s} WHERE id = %s").format(t=table, s=sets)


class AffiliationsTable:
    def __init__(self, schema: str, prefix: str = "") -> None:
        self.names: tuple[str, ...] = (f"{prefix}affiliations", f"{prefix}bank_accounts")
        self.affiliations = Identifier(schema, self.names[0])
        self.accounts = Identifier(schema, self.names[1])
        self._add_affiliation = SQL(
            "INSERT INTO {t} (id, partner_id, company_id, role, function, start_date, "
            "end_date, version, created_at, updated_at) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        ).format(t=self.affiliations)
        self._move_affiliation = SQL(
            "UPDATE {t} SET company_id = CASE WHEN company_id = %(prev)s THEN %(to)s "
            "ELSE company_id END, partner_id = CASE WHEN company_id = %(prev)s THEN partner_id "
            "ELSE %(to)s END, version = %(v)s, updated_at = %(at)s WHERE id = %(id)s"
        ).format(t=self.affiliations)
        self._add_account = SQL(
            "INSERT INTO {t} (id, partner_id, iban, bic, holder_name, currency, version, "
            "created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
        ).format(t=self.accounts)
        self._erase = [
            SQL("UPDATE {t} SET role = NULL, function = NULL WHERE partner_id = %s").format(
                t=self.affiliations
            ),
            SQL("UPDATE {t} SET iban = NULL, holder_name = NULL WHERE partner_id = %s").format(
                t=self.accounts
            ),
        ]

    def create_statements(self) -> list[Composed]:
        return [
            SQL(
                "CREATE TABLE IF NOT EXISTS {t} (id uuid PRIMARY KEY, partner_id uuid NOT NULL, "
                "company_id uuid NOT NULL, role text, function text, start_date date, "
                "end_date date, version integer NOT NULL, created_at timestamptz NOT NULL, "
                "updated_at timestamptz NOT NULL, ended_at timestamptz)"
            ).format(t=self.affiliations),
            SQL(
                "CREATE TABLE IF NOT EXISTS {t} (id uuid PRIMARY KEY, partner_id uuid NOT NULL, "
                "iban text, bic text, holder_name text, currency text, "
                "version integer NOT NULL, created_at timestamptz NOT NULL, "
                "updated_at timestamptz NOT NULL, removed_at timestamptz)"
            ).format(t=self.accounts),
        ]

    def query_index_statements(self) -> list[Composed]:
        index = SQL("CREATE INDEX IF NOT EXISTS {} ON {t} ({c})")
        return [
            index.format(
                Identifier(f"{self.names[0]}_person"), t=self.affiliations, c=SQL("partner_id")
            ),
            index.format(
                Identifier(f"{self.names[0]}_company"), t=self.affiliations, c=SQL("company_id")
            ),
            index.format(
                Identifier(f"{self.names[1]}_partner"), t=self.accounts, c=SQL("partner_id")
            ),
            index.format(Identifier(f"{self.names[1]}_iban"), t=self.accounts, c=SQL("iban")),
        ]

    def erase(self, curs: Cursor[DictRow], partner_id: UUID) -> None:
        """An erased person's affiliations lose their role and function, its bank
        accounts their IBAN and holder."""
        for statement in self._erase:
            curs.execute(statement, (partner_id,), prepare=True)

    def apply(self, curs: Cursor[DictRow], event: DomainEventProtocol[Any], position: int) -> None:
        e: Any = event
        match event:
            case Partner.Anonymized():
                self.erase(curs, e.originator_id)
            case Affiliation.Created():
                v = e.values
                row = (e.partner_id, e.company_id, v.get("role"), v.get("function"))
                dates = (v.get("start_date"), v.get("end_date"))
                stamps = (e.originator_version, e.timestamp, e.timestamp)
                curs.execute(self._add_affiliation, (e.originator_id, *row, *dates, *stamps))
            case Affiliation.Updated():
                self._touch(curs, self.affiliations, dict(e.changes), e)
            case Affiliation.Ended():
                ended = {"end_date": e.end_date, "ended_at": e.timestamp}
                self._touch(curs, self.affiliations, ended, e)
            case Affiliation.Moved():
                moved = {"prev": e.previous_partner_id, "to": e.partner_id, "id": e.originator_id}
                curs.execute(
                    self._move_affiliation, moved | {"v": e.originator_version, "at": e.timestamp}
                )
                if texts := carried(e, ("role", "function")):
                    self._touch(curs, self.affiliations, texts, e)
            case BankAccount.Added():
                v = e.values
                values = [v.get(f) for f in ("iban", "bic", "holder_name", "currency")]
                stamps = (e.originator_version, e.timestamp, e.timestamp)
                curs.execute(self._add_account, (e.originator_id, e.partner_id, *values, *stamps))
            case BankAccount.Updated():
                self._touch(curs, self.accounts, dict(e.changes), e)
            case BankAccount.Removed():
                self._touch(curs, self.accounts, {"removed_at": e.timestamp}, e)
            case BankAccount.Moved():
                moved_to = {"partner_id": e.partner_id}
                self._touch(curs, self.accounts, moved_to | carried(e, ("iban", "holder_name")), e)

    @staticmethod
    def _touch(curs: Cursor[DictRow], table: Identifier, values: dict[str, Any], e: Any) -> None:
        values |= {"version": e.originator_version, "updated_at": e.timestamp}
        curs.execute(_set(table, list(values)), [*values.values(), e.originator_id])
