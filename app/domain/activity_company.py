"""The company an activity names (`companyId`): which company's 360° view shows the
activity besides its partner's. Only a company that the partner is, is a contact of, or
is affiliated with on the activity's due date may be named; an affiliation alone never
puts a person's activities in a company's view."""

from __future__ import annotations

from collections.abc import Iterable

from app.domain.affiliation import Affiliation
from app.domain.errors import DomainError, ErrorCode, validation
from app.domain.partner import Partner

FIELD = "companyId"


def check_named_company(
    partner: Partner,
    commercial_id: str,
    company: Partner,
    affiliations: Iterable[Affiliation],
    due_date: str,
) -> None:
    """Refuses a company an activity of `partner` (whose commercial partner is
    `commercial_id`) due on `due_date` cannot name; `affiliations`: candidates, checked
    here (those of other people or companies, or out of force that day, count for nothing)."""
    if company.kind != "COMPANY":
        raise validation("companyId names a person, not a company", FIELD)
    if company.archived:
        raise DomainError.single(ErrorCode.ARCHIVED, "the company is archived", FIELD)
    named = str(company.id)
    if named in (str(partner.id), commercial_id):
        return
    if any(
        a.partner_id == str(partner.id) and a.company_id == named and a.in_force_on(due_date)
        for a in affiliations
    ):
        return
    raise validation(
        "the partner is neither this company, nor one of its contacts, nor affiliated with "
        "it on the due date",
        FIELD,
    )
