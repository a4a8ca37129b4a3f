"""Commands of the 360° view: activities, documents other modules report, opportunities."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from app.application.base import MAX_RETRIES, CommandResult
from app.application.terms import TermCommands
from app.domain.activity import Activity
from app.domain.activity_company import check_named_company
from app.domain.affiliation import MAX_AFFILIATIONS, Affiliation
from app.domain.audited import Audit
from app.domain.document import Document, check_new_values, reference_key
from app.domain.document_dues import DUE_KINDS
from app.domain.document_terms import side_of
from app.domain.errors import DomainError, ErrorCode, conflict
from app.domain.opportunity import Opportunity
from app.domain.partner import Partner


class RelationshipCommands(TermCommands):
    """Activities, documents and opportunities of partners."""

    def schedule_activity(
        self,
        partner_id: UUID,
        values: Mapping[str, Any],
        audit: Audit,
        idempotency_key: str | None = None,
        *,
        affiliation_ids: Sequence[UUID] = (),
    ) -> CommandResult:
        """`values` may name a company (`company_id`); `affiliation_ids`: the partner's
        affiliations with it as the read model knows them, each checked on its aggregate."""

        def schedule(activity_id: UUID) -> list[Aggregate]:
            partner = self._active_partner(partner_id)
            assignee = values.get("assignee_id")
            self._check_catalog_references({"assignee_id": (assignee, "SALESPERSON")})
            activity = Activity.schedule(
                activity_id=activity_id, partner_id=partner_id, values=values, audit=audit
            )
            if activity.company_id is not None:
                self._check_named_company(partner, activity, affiliation_ids)
            return [activity]

        request = {"partnerId": partner_id, "values": values}
        return self._create("activity", Activity, idempotency_key, request, schedule)

    def _check_named_company(
        self, partner: Partner, activity: Activity, affiliation_ids: Sequence[UUID]
    ) -> None:
        assert activity.company_id is not None
        company = self._get(UUID(activity.company_id), Partner, "companyId")
        found = [a for i in affiliation_ids[:MAX_AFFILIATIONS] if (a := self._find(i, Affiliation))]
        commercial = str(self._commercial_partner(partner).id)
        check_named_company(partner, commercial, company, found, activity.due_date)

    def update_activity(
        self,
        activity_id: UUID,
        changes: Mapping[str, Any],
        audit: Audit,
        expected_version: int | None = None,
    ) -> CommandResult:
        def update(activity: Activity) -> bool:
            if changes.get("assignee_id") and changes["assignee_id"] != activity.assignee_id:
                self._check_catalog_references(
                    {"assignee_id": (changes["assignee_id"], "SALESPERSON")}
                )
            return activity.change(changes, audit)

        return self._update(Activity, activity_id, expected_version, update)

    def complete_activity(
        self,
        activity_id: UUID,
        feedback: str | None,
        audit: Audit,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._update(
            Activity, activity_id, expected_version, lambda a: a.complete(feedback, audit)
        )

    def cancel_activity(
        self, activity_id: UUID, audit: Audit, expected_version: int | None = None
    ) -> CommandResult:
        return self._update(Activity, activity_id, expected_version, lambda a: a.cancel(audit))

    # -- documents and opportunities ----------------------------------------------------

    def record_document(
        self,
        partner_id: UUID,
        values: Mapping[str, Any],
        audit: Audit,
        idempotency_key: str | None = None,
    ) -> CommandResult:
        """Other modules report here; an archived partner's documents are still taken.
        The document takes the terms in force (app/application/terms.py), and an invoice,
        bill or credit note the due dates of its payment term; its commercial partner
        becomes a customer or supplier with it, in the same transaction."""
        gained: list[Aggregate] = []

        def record(document_id: UUID) -> list[Aggregate]:
            gained.clear()
            partner = self._get(partner_id, Partner, "partnerId")
            commercial = self._commercial_partner(partner)
            given = check_new_values(values)
            side = side_of(given.kind, given.direction)
            terms = self._document_terms(partner, commercial, side, values)
            document = Document.record(
                document_id=document_id,
                partner_id=partner_id,
                values=values,
                audit=audit,
                terms=terms,
                payment_term_lines=(
                    self._payment_term_lines(terms) if given.kind in DUE_KINDS else None
                ),
            )
            key = reference_key(document.module, document.kind, document.reference)
            claims = self._claims(document_id, [key], ())
            gained.extend(self._roles_gained(document, commercial, audit))
            return [document, *claims, *gained]

        request = {"partnerId": partner_id, "values": values}
        for _ in range(MAX_RETRIES):
            try:
                return self._create("document", Document, idempotency_key, request, record)
            except DomainError as error:
                # Saving the partner it marked may meet a concurrent change of the partner
                # (another of its first invoices): recorded again on fresh state. A taken
                # reference is found again by `_claims`, before anything is marked.
                if not gained or error.errors[0].code is not ErrorCode.DUPLICATE:
                    raise
        raise conflict("the partner is being changed by others; try again", "partnerId")

    def update_document(
        self,
        document_id: UUID,
        changes: Mapping[str, Any],
        audit: Audit,
        expected_version: int | None = None,
    ) -> CommandResult:
        """A document that stops being cancelled counts from then on, as if recorded so:
        its commercial partner becomes a customer or supplier with it, as in
        `record_document`."""
        gained: list[Aggregate] = []

        def update(document: Document) -> list[Aggregate]:
            gained.clear()
            reopened = document.status == "CANCELLED"
            if not document.update(changes, audit):
                return []
            if reopened and (partner := self._find(UUID(document.partner_id), Partner)):
                commercial = self._commercial_partner(partner)
                gained.extend(self._roles_gained(document, commercial, audit))
            return [document, *gained]

        for _ in range(MAX_RETRIES):
            gained.clear()
            try:
                return self._change(Document, document_id, expected_version, update)
            except DomainError as error:
                # Saving the partner it marked met a concurrent change of the partner, which
                # `_change` (retrying by itself without one) takes for a change of the
                # document when a version was expected: done again on fresh state, where a
                # document that did change is refused for its version.
                code = error.errors[0].code
                if expected_version is None or not gained or code is not ErrorCode.CONFLICT:
                    raise
        raise conflict("the partner is being changed by others; try again", "id")

    def create_opportunity(
        self,
        partner_id: UUID,
        values: Mapping[str, Any],
        audit: Audit,
        idempotency_key: str | None = None,
    ) -> CommandResult:
        def create(opportunity_id: UUID) -> list[Aggregate]:
            self._active_partner(partner_id)
            salesperson = values.get("salesperson_id")
            self._check_catalog_references({"salesperson_id": (salesperson, "SALESPERSON")})
            return [
                Opportunity.create(
                    opportunity_id=opportunity_id, partner_id=partner_id, values=values, audit=audit
                )
            ]

        request = {"partnerId": partner_id, "values": values}
        return self._create("opportunity", Opportunity, idempotency_key, request, create)

    def update_opportunity(
        self,
        opportunity_id: UUID,
        changes: Mapping[str, Any],
        audit: Audit,
        expected_version: int | None = None,
    ) -> CommandResult:
        def update(opportunity: Opportunity) -> bool:
            salesperson = changes.get("salesperson_id")
            if salesperson and salesperson != opportunity.salesperson_id:
                self._check_catalog_references({"salesperson_id": (salesperson, "SALESPERSON")})
            return opportunity.update(changes, audit)

        return self._update(Opportunity, opportunity_id, expected_version, update)

    def mark_opportunity_won(
        self, opportunity_id: UUID, audit: Audit, expected_version: int | None = None
    ) -> CommandResult:
        return self._update(
            Opportunity, opportunity_id, expected_version, lambda o: o.mark_won(audit)
        )

    def mark_opportunity_lost(
        self,
        opportunity_id: UUID,
        lost_reason: str | None,
        audit: Audit,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._update(
            Opportunity, opportunity_id, expected_version, lambda o: o.mark_lost(lost_reason, audit)
        )
