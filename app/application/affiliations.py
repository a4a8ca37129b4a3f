"""Commands of affiliations (a person in companies besides its main one) and of bank
accounts; each changes only its own aggregate, so neither races an edit of the partner."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from app.application.base import CommandBase, CommandResult
from app.domain.affiliation import Affiliation
from app.domain.audited import Audit
from app.domain.bank_account import BankAccount
from app.domain.errors import DomainError, ErrorCode, validation
from app.domain.partner import Partner


class AffiliationCommands(CommandBase):
    """`add_affiliation`, `update_affiliation`, `end_affiliation`, and the same for bank
    accounts (`add_bank_account`, `update_bank_account`, `remove_bank_account`)."""

    def add_affiliation(
        self,
        person_id: UUID,
        company_id: UUID,
        values: Mapping[str, Any],
        audit: Audit,
        idempotency_key: str | None = None,
    ) -> CommandResult:
        def add(affiliation_id: UUID) -> list[Aggregate]:
            person = self._partner_of_kind(person_id, "PERSON", "personId")
            self._partner_of_kind(company_id, "COMPANY", "companyId")
            if person.anonymized:
                raise validation("the person was anonymized", "personId")
            affiliation = Affiliation.create(
                affiliation_id=affiliation_id,
                person_id=person_id,
                company_id=company_id,
                values=values,
                audit=audit,
            )
            return [affiliation]

        request = {"personId": person_id, "companyId": company_id, "values": values}
        return self._create("affiliation", Affiliation, idempotency_key, request, add)

    def update_affiliation(
        self,
        affiliation_id: UUID,
        changes: Mapping[str, Any],
        audit: Audit,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._update(
            Affiliation, affiliation_id, expected_version, lambda a: a.update(changes, audit)
        )

    def end_affiliation(
        self,
        affiliation_id: UUID,
        end_date: str | None,
        audit: Audit,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._update(
            Affiliation, affiliation_id, expected_version, lambda a: a.end(end_date, audit)
        )

    def add_bank_account(
        self,
        partner_id: UUID,
        values: Mapping[str, Any],
        audit: Audit,
        idempotency_key: str | None = None,
    ) -> CommandResult:
        def add(account_id: UUID) -> list[Aggregate]:
            partner = self._active_partner(partner_id)
            if partner.anonymized:
                raise validation("the partner was anonymized", "partnerId")
            return [
                BankAccount.add(
                    account_id=account_id, partner_id=partner_id, values=values, audit=audit
                )
            ]

        request = {"partnerId": partner_id, "values": values}
        return self._create("bank-account", BankAccount, idempotency_key, request, add)

    def update_bank_account(
        self,
        account_id: UUID,
        changes: Mapping[str, Any],
        audit: Audit,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._update(
            BankAccount, account_id, expected_version, lambda a: a.update(changes, audit)
        )

    def remove_bank_account(
        self, account_id: UUID, audit: Audit, expected_version: int | None = None
    ) -> CommandResult:
        return self._update(BankAccount, account_id, expected_version, lambda a: a.remove(audit))

    def _partner_of_kind(self, partner_id: UUID, kind: str, field: str) -> Partner:
        partner = self._get(partner_id, Partner, field)
        if partner.kind != kind:
            raise DomainError.single(
                ErrorCode.VALIDATION, f"{field} names a {partner.kind.lower()}", field
            )
        if partner.archived:
            raise DomainError.single(ErrorCode.ARCHIVED, "the partner is archived", field)
        return partner
