"""Documents against the clock: which invoices and vendor bills are overdue, how much of
an invoice is, and the partners with overdue invoices.

"Today" is the date where the document's partner is (its time zone, else its company's,
else UTC), as for an activity without an assignee. A document is overdue when it is an
open invoice or vendor bill (OPEN, PARTIALLY_PAID) whose earliest instalment not yet paid
fell due before today (the `due_date` column, app/projections/documents.py)."""

from __future__ import annotations

from datetime import datetime

from psycopg.sql import SQL, Composable, Literal

from app.domain.document_dues import OVERDUE_KINDS, UNPAID_STATUSES


def partner_today(now: datetime, partner: Composable) -> Composable:
    """Today's date where `partner` (an expression giving a partner id) is."""
    return SQL(
        "({now}::timestamptz AT TIME ZONE COALESCE("
        "(SELECT COALESCE(tp.tz, tcp.tz) FROM partners tp "
        " LEFT JOIN partners tcp ON tcp.id = tp.commercial_partner_id WHERE tp.id = {p}), "
        "'UTC'))::date"
    ).format(now=Literal(now), p=partner)


def overdue(now: datetime, kinds: tuple[str, ...] = OVERDUE_KINDS) -> Composable:
    """Whether the document `d` (of one of `kinds`) is overdue now: never null."""
    return SQL(
        "COALESCE(d.kind = ANY({kinds}) AND d.status = ANY({unpaid}) "
        "AND d.due_date < {today}, false)"
    ).format(
        kinds=Literal(list(kinds)),
        unpaid=Literal(list(UNPAID_STATUSES)),
        today=partner_today(now, SQL("d.partner_id")),
    )


def overdue_amount(now: datetime) -> Composable:
    """What of the invoice `d` is overdue: its instalments due before today, less what
    was paid (payments settle the earliest first); 0 for other documents."""
    today = partner_today(now, SQL("d.partner_id"))
    return SQL(
        "CASE WHEN {overdue} THEN GREATEST(0, (SELECT sum((e.i->>'amount')::numeric) "
        "FROM jsonb_array_elements(d.due_dates) AS e(i) WHERE (e.i->>'due_date')::date < {t}) "
        "- COALESCE(d.amount_paid, 0)) ELSE 0 END"
    ).format(overdue=overdue(now, ("INVOICE",)), t=today)


def overdue_invoices_condition(now: datetime, partners: Composable) -> Composable:
    """Used by the partners filter `hasOverdueInvoices`: an invoice of the partner's view
    (its own, and its contacts' for a commercial partner) is overdue. The projection keeps
    on the partner's row (of the table aliased `partners`) the instant from which the
    earliest one is (app/projections/partner_standing.py), indexed where it is not null.
    Unknown (not false) for a partner without one: the filters negate with IS NOT TRUE.
    An `overdue_from IS NOT NULL AND` here made PostgreSQL count the empty rows out twice
    (the comparison's estimate already leaves them out): a tenth of the rows expected."""
    return SQL("({p}.overdue_from <= {now})").format(p=partners, now=Literal(now))
