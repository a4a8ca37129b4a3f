"""What the catalogs' fields mean, written once for their types and the inputs that set
them."""

from __future__ import annotations

CATALOG_FIELDS = {
    "name": "Its name (at most 200 characters).",
    "full_name": "Its longer, official name.",
    "note": "Terms shown on documents (at most 2,000 characters).",
    "lines": "Its instalments, in order; none means due at once.",
    "currency": "The currency, ISO 4217 (`EUR`).",
    "fixed_price": "What a delivery costs, whatever is delivered; null when it depends.",
    "email": "Email address.",
    "tz": "Time zone, an IANA name; an activity assigned to them is due in it.",
    "active": "Not archived: can be assigned.",
    "code": "The account's code, unique (case-insensitively), without spaces.",
    "account_type": "RECEIVABLE or PAYABLE.",
    "country_code": "The country it applies to, ISO 3166-1 alpha-2.",
    "country": "The country it applies to.",
}

MONEY_FIELDS = {
    "amount": "The amount, a decimal string kept exactly (`1500.00`).",
    "currency": "The currency, ISO 4217 (`EUR`).",
}

PAYMENT_TERM_LINE_FIELDS = {
    "kind": "PERCENT of the total, a FIXED amount, or the BALANCE (at most one, last).",
    "value": "The percentage (PERCENT) or amount (FIXED); none for the BALANCE.",
    "days": "Due this many days after the invoice date (0 to 3660).",
    "end_of_month": "Due at the end of the month those days reach.",
    "discount_percent": "Early payment discount, in percent.",
    "discount_days": "The discount applies when paid within this many days.",
}
