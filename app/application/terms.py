"""Commercial terms on the write side: accounts of the right type wherever a term points
to one, and what a new document takes of its partner (its terms, the lines of its payment
term). The partner's terms are read from
its aggregates as they are when the document is recorded (the read models may lag), so
the document takes exactly the terms in force at that moment."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from app.application.base import CommandBase
from app.domain.audited import Audit
from app.domain.catalog import CatalogEntry
from app.domain.document import Document
from app.domain.document_terms import (
    ACCOUNT_TYPE_OF_SIDE,
    CATALOG_OF_TERM,
    Side,
    explicit_terms,
    role_given,
    terms_in_force,
)
from app.domain.errors import DomainError
from app.domain.partner import Partner
from app.domain.partner_fields import input_name


class TermCommands(CommandBase):
    """What the commands that set or take commercial terms share."""

    def _check_account_types(self, accounts: Mapping[str, tuple[Any, str]]) -> None:
        """Field -> (account id, the type it must take), for ids that
        `_check_catalog_references` found: a payable account is no receivable one."""
        errors = []
        for field, (value, wanted) in accounts.items():
            entry = self._find(UUID(str(value)), CatalogEntry) if value is not None else None
            error = entry.account_type_error(wanted, input_name(field)) if entry else None
            if error is not None:
                errors.append(error)
        if errors:
            raise DomainError(errors)

    def _commercial_partner(self, partner: Partner) -> Partner:
        """Who holds the terms in force for `partner`: itself, or the company it is a
        contact of (a company is always its own commercial partner: one step at most)."""
        if partner.is_commercial or partner.parent_id is None:
            return partner
        return self._find(partner.parent_id, Partner) or partner

    def _document_terms(
        self, partner: Partner, commercial: Partner, side: Side | None, values: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        """The terms a new document for `partner` takes: those given in `values`, checked
        as on partners (the right catalog, not archived, the right type of account), and
        its commercial partner's for the others. None for kinds that take no terms."""
        explicit = explicit_terms(side, values)
        if side is None:
            return None
        self._check_catalog_references({t: (v, CATALOG_OF_TERM[t]) for t, v in explicit.items()})
        if "account_id" in explicit:
            self._check_account_types(
                {"account_id": (explicit["account_id"], ACCOUNT_TYPE_OF_SIDE[side])}
            )
        return terms_in_force(
            side,
            explicit,
            commercial.values,
            commercial_id=str(commercial.id),
            own=commercial.id == partner.id,
        )

    def _payment_term_lines(self, terms: Mapping[str, Any] | None) -> list[dict[str, Any]]:
        """The lines of the payment term a document took, as they are now (archived terms
        too: the document took it); none without a payment term."""
        term_id = (terms or {}).get("payment_term_id")
        entry = self._find(UUID(str(term_id)), CatalogEntry) if term_id else None
        if entry is None or entry.catalog != "PAYMENT_TERM":
            return []
        return [dict(line) for line in entry.values.get("lines") or []]

    def _roles_gained(
        self, document: Document, commercial: Partner, audit: Audit
    ) -> list[Aggregate]:
        """The commercial partner, marked a customer (supplier) when `document` is a sale
        order or invoice (purchase order or vendor bill) and it was not one yet; saved
        with the document, by the document's actor."""
        role = role_given(document.kind, document.status)
        if role is None:
            return []
        flag, name = role
        label = document.kind.replace("_", " ").lower()
        article = "an" if label[0] in "aeiou" else "a"
        why = f"{article} {label} was recorded for it while it was not yet a {name}"
        marked = commercial.gain_role(flag, document.id, Audit(audit.actor, audit.request_id, why))
        return [commercial] if marked else []
