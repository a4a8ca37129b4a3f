"""What the fields of activities, documents and opportunities mean, written once for their
types and the inputs that set them; the terms a document took; and the figures of
`PartnerStats`."""

from __future__ import annotations

ACTIVITY_FIELDS = {
    "partner_id": "The partner it is with (an active partner).",
    "activity_type": "What kind of activity (TODO when not given at creation).",
    "summary": "A one-line summary (at most 300 characters).",
    "note": "Notes (at most 20,000 characters).",
    "due_date": "The day it is due (no time).",
    "assignee_id": "Who does it (a `Salesperson` id, not archived).",
    "feedback": "How it went, given when completed.",
    "done_at": "When it was completed or cancelled.",
    "partner": "The partner it is with.",
    "assignee": "Who does it.",
    "company_id": "The company it is about, whose 360° view then shows it too (a `Partner` id "
    "of a company, not archived): the partner itself, the company the partner is a contact "
    "of, or one the partner is affiliated with on the due date. Named when planning only.",
    "company": "The company it names (`companyId`): its 360° view shows the activity besides "
    "the partner's; null when none is named.",
}

DOCUMENT_FIELDS = {
    "partner_id": "The partner it is for (archived ones too).",
    "module": "The module that made it; it decides the kinds allowed.",
    "kind": "What it is (a kind of its module).",
    "reference": "Its reference in that module (1 to 100 characters), unique per module and kind.",
    "date": "Its date.",
    "amount": "Its total (at least 0); needs `currency`.",
    "currency": "The currency of its amounts, ISO 4217.",
    "status": "Where it stands (a status of its kind; the kind's first by default).",
    "amount_paid": "Paid so far (invoices, vendor bills and credit notes); at most the amount.",
    "partner": "The partner it is for.",
    "payment_term_id": "Its payment term (a `PaymentTerm` id), instead of the partner's.",
    "pricelist_id": "Its pricelist (a `Pricelist` id; customer side), instead of the partner's.",
    "salesperson_id": "Its salesperson (a `Salesperson` id; customer side), instead of the partner's.",
    "fiscal_position_id": "Its fiscal position (a `FiscalPosition` id), instead of the partner's.",
    "delivery_method_id": "Its delivery method (a `DeliveryMethod` id; customer side), instead of the partner's.",
}

TERMS_TAKEN = {
    "source": "Where its terms came from.",
    "pricelist": "The pricelist (customer side).",
    "salesperson": "The salesperson (customer side).",
    "fiscal_position": "The fiscal position (both sides).",
    "delivery_method": "The delivery method (customer side).",
}

OPPORTUNITY_FIELDS = {
    "partner_id": "The partner it is with (an active partner).",
    "name": "What it is about (1 to 300 characters).",
    "expected_revenue": "The revenue hoped for.",
    "probability": "The chance of winning it, in percent (0 to 100).",
    "stage": "Where it stands: NEW (the default), QUALIFIED or PROPOSITION while open.",
    "salesperson_id": "Who handles it (a `Salesperson` id, not archived).",
    "lost_reason": "Why it was lost (the `reason` given to markOpportunityLost).",
    "closed_at": "When it was won or lost.",
    "partner": "The partner it is with.",
    "salesperson": "Who handles it.",
}

STATS_FIELDS = {
    "quotation_count": "Quotations, cancelled ones left out.",
    "sale_order_count": "Sale orders, cancelled ones left out.",
    "purchase_order_count": "Purchase orders, cancelled ones left out.",
    "invoice_count": "Customer invoices, cancelled ones left out.",
    "credit_note_count": "Credit notes, cancelled ones left out.",
    "ticket_count": "Support tickets, cancelled ones left out.",
    "open_ticket_count": "Support tickets with status OPEN.",
    "opportunity_count": "Opportunities, won and lost included.",
    "subscription_count": "Subscriptions, cancelled ones left out.",
    "project_count": "Projects, cancelled ones left out.",
    "event_registration_count": "Event registrations, cancelled ones left out.",
    "open_activity_count": "Activities neither done nor cancelled.",
    "overdue_activity_count": "Open activities that are OVERDUE now.",
    "last_interaction_at": "When its latest activity, document or opportunity event happened.",
}
