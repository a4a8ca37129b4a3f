"""Commands of affiliations (a person in companies besides its main one) and of bank
accounts; each changes only its own aggregate, so neither races an edit of the partner."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from app.application.base import MAX_RETRIES, CommandBase, CommandResult
from app.domain.affiliation import MAX_AFFILIATIONS, Affiliation
from app.domain.audited import Audit
from app.domain.bank_account import MAX_BANK_ACCOUNTS, BankAccount
from app.domain.errors import DomainError, ErrorCode, conflict, validation
from app.domain.messages import Message
from app.domain.partner import Partner
from app.domain.tally import Tally, tally_id

Build = Callable[[UUID], Aggregate]


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
        def add(affiliation_id: UUID) -> Aggregate:
            person = self._partner_of_kind(person_id, "PERSON", "personId")
            self._partner_of_kind(company_id, "COMPANY", "companyId")
            if person.anonymized:
                raise validation("the person was anonymized", "personId")
            return Affiliation.create(
                affiliation_id=affiliation_id,
                person_id=person_id,
                company_id=company_id,
                values=values,
                audit=audit,
            )

        request = {"personId": person_id, "companyId": company_id, "values": values}
        limit = (f"affiliations:{person_id}", MAX_AFFILIATIONS, "personId")
        return self._add_counted("affiliation", Affiliation, idempotency_key, request, add, limit)

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
        def add(account_id: UUID) -> Aggregate:
            partner = self._active_partner(partner_id)
            if partner.anonymized:
                raise validation("the partner was anonymized", "partnerId")
            return BankAccount.add(
                account_id=account_id, partner_id=partner_id, values=values, audit=audit
            )

        request = {"partnerId": partner_id, "values": values}
        limit = (f"bank-accounts:{partner_id}", MAX_BANK_ACCOUNTS, "partnerId")
        return self._add_counted("bank-account", BankAccount, idempotency_key, request, add, limit)

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
        def remove(account: BankAccount) -> list[Aggregate]:
            account.remove(audit)
            tally = self._find(tally_id(f"bank-accounts:{account.partner_id}"), Tally)
            if tally is None:
                return [account]
            tally.remove_one()
            return [account, tally]

        return self._change(BankAccount, account_id, expected_version, remove)

    def _add_counted(
        self,
        kind: str,
        cls: type[Aggregate],
        idempotency_key: str | None,
        request: Mapping[str, Any],
        build: Build,
        limit: tuple[str, int, str],
    ) -> CommandResult:
        """Creates a record and counts it in its partner's tally (key, limit, field), in
        one transaction; a concurrent add of the same partner makes it count again."""
        key, most, field = limit
        for _ in range(MAX_RETRIES):
            new_id, earlier = self._new_id(kind, idempotency_key, cls, request)
            if earlier is not None:
                return earlier
            record = build(new_id)
            tally = self._find(tally_id(key), Tally) or Tally(key)
            tally.add_one(most, field)
            try:
                return self._save_new(record, idempotency_key, cls, tally, request=request)
            except DomainError as error:
                if error.errors[0].code is not ErrorCode.DUPLICATE:
                    raise  # DUPLICATE: the tally moved under us (`_save_new`)
        raise conflict("the partner is being changed by others; try again", field)

    def _partner_of_kind(self, partner_id: UUID, kind: str, field: str) -> Partner:
        partner = self._get(partner_id, Partner, field)
        if partner.kind != kind:
            if partner.kind == "COMPANY":
                message = Message("%(field)s names a company", field=field)
            else:
                message = Message("%(field)s names a person", field=field)
            raise DomainError.single(ErrorCode.VALIDATION, message, field)
        if partner.archived:
            raise DomainError.single(ErrorCode.ARCHIVED, "the partner is archived", field)
        return partner
