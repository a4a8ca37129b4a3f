"""The enums of the 360° view: kinds and states of activities, documents, opportunities
and timeline entries; a payment's direction and where a document's terms came from."""

from __future__ import annotations

from enum import Enum

import strawberry

from app.schema.descriptions import described


@described(
    {
        "CALL": "A phone call.",
        "EMAIL": "An email to send.",
        "MEETING": "A meeting.",
        "TODO": "Something to do (the default).",
        "FOLLOW_UP": "A follow-up of an earlier exchange.",
        "UPLOAD_DOCUMENT": "A document to upload.",
    }
)
@strawberry.enum(description="What kind of activity.")
class ActivityType(Enum):
    CALL = "CALL"
    EMAIL = "EMAIL"
    MEETING = "MEETING"
    TODO = "TODO"
    FOLLOW_UP = "FOLLOW_UP"
    UPLOAD_DOCUMENT = "UPLOAD_DOCUMENT"


@described(
    {
        "OVERDUE": "Open, and due before today.",
        "TODAY": "Open, and due today.",
        "PLANNED": "Open, and due later.",
        "DONE": "Completed (completeActivity).",
        "CANCELLED": "Cancelled (cancelActivity).",
    }
)
@strawberry.enum(description="Where an activity stands today.")
class ActivityState(Enum):
    OVERDUE = "OVERDUE"
    TODAY = "TODAY"
    PLANNED = "PLANNED"
    DONE = "DONE"
    CANCELLED = "CANCELLED"


@described(
    {
        "SALES": "Sales: quotations and sale orders.",
        "PURCHASE": "Purchases: purchase orders.",
        "ACCOUNTING": "Accounting: invoices, vendor bills, credit notes, payments.",
        "HELPDESK": "Helpdesk: tickets.",
        "CRM": "CRM: leads.",
        "SUBSCRIPTION": "Subscriptions.",
        "PROJECT": "Projects.",
        "EVENT": "Events: registrations.",
        "MARKETING": "Marketing: mailings.",
    }
)
@strawberry.enum(description="The module that reported a document.")
class DocumentModule(Enum):
    SALES = "SALES"
    PURCHASE = "PURCHASE"
    ACCOUNTING = "ACCOUNTING"
    HELPDESK = "HELPDESK"
    CRM = "CRM"
    SUBSCRIPTION = "SUBSCRIPTION"
    PROJECT = "PROJECT"
    EVENT = "EVENT"
    MARKETING = "MARKETING"


@described(
    {
        "QUOTATION": "A quotation (SALES).",
        "SALE_ORDER": "A confirmed sale (SALES).",
        "PURCHASE_ORDER": "An order to a supplier (PURCHASE).",
        "INVOICE": "A customer invoice (ACCOUNTING).",
        "VENDOR_BILL": "A supplier's bill (ACCOUNTING).",
        "CREDIT_NOTE": "A credit note to a customer (ACCOUNTING).",
        "PAYMENT": "A payment, from a customer or to a supplier (`direction`) (ACCOUNTING).",
        "TICKET": "A support ticket (HELPDESK).",
        "LEAD": "A lead (CRM).",
        "SUBSCRIPTION": "A subscription (SUBSCRIPTION).",
        "PROJECT": "A project (PROJECT).",
        "EVENT_REGISTRATION": "A registration for an event (EVENT).",
        "MAILING": "A mailing sent to it (MARKETING).",
    }
)
@strawberry.enum(description="What a document is.")
class DocumentKind(Enum):
    QUOTATION = "QUOTATION"
    SALE_ORDER = "SALE_ORDER"
    PURCHASE_ORDER = "PURCHASE_ORDER"
    INVOICE = "INVOICE"
    VENDOR_BILL = "VENDOR_BILL"
    CREDIT_NOTE = "CREDIT_NOTE"
    PAYMENT = "PAYMENT"
    TICKET = "TICKET"
    LEAD = "LEAD"
    SUBSCRIPTION = "SUBSCRIPTION"
    PROJECT = "PROJECT"
    EVENT_REGISTRATION = "EVENT_REGISTRATION"
    MAILING = "MAILING"


@described(
    {
        "DRAFT": "Being prepared; in no figure.",
        "OPEN": "Sent or open (an invoice waiting for payment).",
        "CONFIRMED": "Confirmed (an order, a registration).",
        "CANCELLED": "Cancelled; in no figure.",
        "DONE": "Finished (delivered, received, closed).",
        "PARTIALLY_PAID": "Paid in part (`amountPaid`).",
        "PAID": "Paid in full.",
    }
)
@strawberry.enum(description="Where a document stands (the statuses allowed depend on its kind).")
class DocumentStatus(Enum):
    DRAFT = "DRAFT"
    OPEN = "OPEN"
    CONFIRMED = "CONFIRMED"
    CANCELLED = "CANCELLED"
    DONE = "DONE"
    PARTIALLY_PAID = "PARTIALLY_PAID"
    PAID = "PAID"


@strawberry.enum(description="Which way a payment's money goes.")
class PaymentDirection(Enum):
    INBOUND = strawberry.enum_value("INBOUND", description="From a customer (the default).")
    OUTBOUND = strawberry.enum_value("OUTBOUND", description="To a supplier.")


@strawberry.enum(
    description="Where a document's terms came from; one source per document (see `terms`)."
)
class TermSource(Enum):
    PARTNER = strawberry.enum_value(
        "PARTNER",
        description="The document's partner holds its own terms (a company, or a partner on "
        "its own): every term is that partner's.",
    )
    COMPANY = strawberry.enum_value(
        "COMPANY",
        description="The document's partner is a contact: every term is inherited from its "
        "commercial partner (its company).",
    )
    EXPLICIT = strawberry.enum_value(
        "EXPLICIT",
        description="The caller gave at least one term for this document (`explicitTerms` "
        "names which); the others were taken from `takenFrom`.",
    )


@described(
    {
        "PAYMENT_TERM": "The payment term (`paymentTermId`).",
        "PRICELIST": "The pricelist (`pricelistId`).",
        "SALESPERSON": "The salesperson (`salespersonId`).",
        "ACCOUNT": "The receivable or payable account (`accountId`).",
        "FISCAL_POSITION": "The fiscal position (`fiscalPositionId`).",
        "DELIVERY_METHOD": "The delivery method (`deliveryMethodId`).",
    }
)
@strawberry.enum(description="A term a document carries.")
class DocumentTermName(Enum):
    PAYMENT_TERM = "PAYMENT_TERM"
    PRICELIST = "PRICELIST"
    SALESPERSON = "SALESPERSON"
    ACCOUNT = "ACCOUNT"
    FISCAL_POSITION = "FISCAL_POSITION"
    DELIVERY_METHOD = "DELIVERY_METHOD"


@described(
    {
        "NEW": "Just created (the default).",
        "QUALIFIED": "Worth pursuing.",
        "PROPOSITION": "An offer was made.",
        "WON": "Won (markOpportunityWon); closed.",
        "LOST": "Lost (markOpportunityLost); closed.",
    }
)
@strawberry.enum(description="The stage of an opportunity.")
class OpportunityStage(Enum):
    NEW = "NEW"
    QUALIFIED = "QUALIFIED"
    PROPOSITION = "PROPOSITION"
    WON = "WON"
    LOST = "LOST"


@described(
    {
        "PARTNER_CREATED": "The partner was registered.",
        "PARTNER_UPDATED": "Fields of the partner changed.",
        "COMMERCIAL_TERMS_SET": "Its commercial terms changed.",
        "PARTNER_ROLE_GAINED": "Became a customer or supplier: a sale order or invoice (purchase "
        "order or vendor bill) was recorded for it while it was not one.",
        "TAGS_ADDED": "Tags were put on it.",
        "TAGS_REMOVED": "Tags were taken off it.",
        "PARTNER_ARCHIVED": "It was archived.",
        "PARTNER_RESTORED": "It was restored.",
        "ACTIVITY_SCHEDULED": "An activity was planned.",
        "ACTIVITY_EDITED": "An activity's summary, note or type changed.",
        "ACTIVITY_RESCHEDULED": "An activity's due date changed.",
        "ACTIVITY_REASSIGNED": "An activity's assignee changed.",
        "ACTIVITY_DONE": "An activity was completed.",
        "ACTIVITY_CANCELLED": "An activity was cancelled.",
        "DOCUMENT_RECORDED": "A document was reported.",
        "DOCUMENT_STATUS_CHANGED": "A document's status changed.",
        "DOCUMENT_AMOUNTS_CHANGED": "A document's amount or amount paid changed.",
        "OPPORTUNITY_CREATED": "An opportunity was created.",
        "OPPORTUNITY_UPDATED": "An open opportunity changed.",
        "OPPORTUNITY_WON": "An opportunity was won.",
        "OPPORTUNITY_LOST": "An opportunity was lost.",
        "PARTNER_MERGED": "It was merged into another partner (and archived).",
        "PARTNER_ABSORBED": "Other partners were merged into it.",
        "PARTNER_UNMERGED": "Its merge into another was undone: it is back.",
        "PARTNER_SEPARATED": "A partner merged into it was restored.",
        "PARTNER_REPARENTED": "A merge (or its undoing) moved it to another parent.",
        "ACTIVITY_MOVED": "A merge (or its undoing) moved an activity.",
        "DOCUMENT_MOVED": "A merge (or its undoing) moved a document.",
        "OPPORTUNITY_MOVED": "A merge (or its undoing) moved an opportunity.",
        "PARTNER_ANONYMIZED": "The person's personal data was erased.",
        "AFFILIATION_ADDED": "The person was affiliated with a company.",
        "AFFILIATION_UPDATED": "An affiliation's role, function or dates changed.",
        "AFFILIATION_ENDED": "An affiliation ended (it stays, with its end date).",
        "AFFILIATION_MOVED": "A merge (or its undoing) moved an affiliation.",
        "BANK_ACCOUNT_ADDED": "A bank account was added.",
        "BANK_ACCOUNT_UPDATED": "A bank account's IBAN, BIC, holder or currency changed.",
        "BANK_ACCOUNT_REMOVED": "A bank account was removed.",
        "BANK_ACCOUNT_MOVED": "A merge (or its undoing) moved a bank account.",
        "NOTE": "A note was logged, edited or deleted (the summary says which).",
    }
)
@strawberry.enum(description="What happened.")
class TimelineKind(Enum):
    PARTNER_CREATED = "PARTNER_CREATED"
    PARTNER_UPDATED = "PARTNER_UPDATED"
    COMMERCIAL_TERMS_SET = "COMMERCIAL_TERMS_SET"
    PARTNER_ROLE_GAINED = "PARTNER_ROLE_GAINED"
    TAGS_ADDED = "TAGS_ADDED"
    TAGS_REMOVED = "TAGS_REMOVED"
    PARTNER_ARCHIVED = "PARTNER_ARCHIVED"
    PARTNER_RESTORED = "PARTNER_RESTORED"
    ACTIVITY_SCHEDULED = "ACTIVITY_SCHEDULED"
    ACTIVITY_EDITED = "ACTIVITY_EDITED"
    ACTIVITY_RESCHEDULED = "ACTIVITY_RESCHEDULED"
    ACTIVITY_REASSIGNED = "ACTIVITY_REASSIGNED"
    ACTIVITY_DONE = "ACTIVITY_DONE"
    ACTIVITY_CANCELLED = "ACTIVITY_CANCELLED"
    DOCUMENT_RECORDED = "DOCUMENT_RECORDED"
    DOCUMENT_STATUS_CHANGED = "DOCUMENT_STATUS_CHANGED"
    DOCUMENT_AMOUNTS_CHANGED = "DOCUMENT_AMOUNTS_CHANGED"
    OPPORTUNITY_CREATED = "OPPORTUNITY_CREATED"
    OPPORTUNITY_UPDATED = "OPPORTUNITY_UPDATED"
    OPPORTUNITY_WON = "OPPORTUNITY_WON"
    OPPORTUNITY_LOST = "OPPORTUNITY_LOST"
    PARTNER_MERGED = "PARTNER_MERGED"
    PARTNER_ABSORBED = "PARTNER_ABSORBED"
    PARTNER_UNMERGED = "PARTNER_UNMERGED"
    PARTNER_SEPARATED = "PARTNER_SEPARATED"
    PARTNER_REPARENTED = "PARTNER_REPARENTED"
    ACTIVITY_MOVED = "ACTIVITY_MOVED"
    DOCUMENT_MOVED = "DOCUMENT_MOVED"
    OPPORTUNITY_MOVED = "OPPORTUNITY_MOVED"
    PARTNER_ANONYMIZED = "PARTNER_ANONYMIZED"
    AFFILIATION_ADDED = "AFFILIATION_ADDED"
    AFFILIATION_UPDATED = "AFFILIATION_UPDATED"
    AFFILIATION_ENDED = "AFFILIATION_ENDED"
    AFFILIATION_MOVED = "AFFILIATION_MOVED"
    BANK_ACCOUNT_ADDED = "BANK_ACCOUNT_ADDED"
    BANK_ACCOUNT_UPDATED = "BANK_ACCOUNT_UPDATED"
    BANK_ACCOUNT_REMOVED = "BANK_ACCOUNT_REMOVED"
    BANK_ACCOUNT_MOVED = "BANK_ACCOUNT_MOVED"
    NOTE = "NOTE"
