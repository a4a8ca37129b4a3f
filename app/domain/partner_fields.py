"""A partner's fields: its kinds and address types, the groups its fields fall in, and the
API's name for each field."""

from __future__ import annotations

from typing import get_args

from app.domain.messages import Message
from app.domain.partner_state import CodedField, FlagField, PartnerField, ReferenceField, TextField

KINDS = ("COMPANY", "PERSON")
ADDRESS_TYPES = ("CONTACT", "INVOICE", "DELIVERY", "OTHER")
TYPE_LABELS: dict[str, str] = {
    "CONTACT": Message("Contact"),
    "INVOICE": Message("Invoice Address"),
    "DELIVERY": Message("Delivery Address"),
    "OTHER": Message("Other Address"),
}
"""Address types for people (messages: the API says them in the reader's language)."""

TEXT_FIELDS: tuple[PartnerField, ...] = get_args(TextField)
CODED_FIELDS: tuple[PartnerField, ...] = get_args(CodedField)
FLAG_FIELDS: tuple[PartnerField, ...] = get_args(FlagField)
REFERENCE_FIELDS: tuple[PartnerField, ...] = get_args(ReferenceField)
FIELDS: tuple[PartnerField, ...] = (
    "type",
    *REFERENCE_FIELDS,
    *TEXT_FIELDS,
    *CODED_FIELDS,
    *FLAG_FIELDS,
    "tag_ids",
)
"""Every field createPartner/updatePartner may set (`kind` is fixed at registration)."""

TERM_REFERENCES: dict[PartnerField, str] = {
    "customer_payment_term_id": "PAYMENT_TERM",
    "vendor_payment_term_id": "PAYMENT_TERM",
    "pricelist_id": "PRICELIST",
    "delivery_method_id": "DELIVERY_METHOD",
    "salesperson_id": "SALESPERSON",
    "receivable_account_id": "ACCOUNT",
    "payable_account_id": "ACCOUNT",
    "fiscal_position_id": "FISCAL_POSITION",
}
"""Commercial terms that point to a catalog entry, and the catalog."""
TERM_FIELDS: tuple[PartnerField, ...] = (*TERM_REFERENCES, "credit_limit")
ACCOUNT_TYPE_OF_TERM: dict[PartnerField, str] = {
    "receivable_account_id": "RECEIVABLE",
    "payable_account_id": "PAYABLE",
}
"""The type of account each account term takes."""
COMMERCIAL_FIELDS: tuple[PartnerField, ...] = ("vat", "industry_id")
"""Fields a contact of a company takes from its commercial partner and cannot set."""

ADDRESS_FIELDS: tuple[PartnerField, ...] = (
    "street",
    "street2",
    "city",
    "zip",
    "state_code",
    "country_code",
)
_INPUT_NAMES = {
    "parent_id": "parentId",
    "industry_id": "industryId",
    "salesperson_id": "salespersonId",
    "tag_ids": "tagIds",
    "customer_payment_term_id": "customerPaymentTermId",
    "vendor_payment_term_id": "vendorPaymentTermId",
    "pricelist_id": "pricelistId",
    "delivery_method_id": "deliveryMethodId",
    "receivable_account_id": "receivableAccountId",
    "payable_account_id": "payableAccountId",
    "fiscal_position_id": "fiscalPositionId",
    "credit_limit": "creditLimit",
    "assignee_id": "assigneeId",
    "payment_term_id": "paymentTermId",
    "account_id": "accountId",
    "state_code": "stateCode",
    "country_code": "countryCode",
    "company_registry": "companyRegistry",
    "is_customer": "isCustomer",
    "is_supplier": "isSupplier",
    "external_id": "externalId",
}


def input_name(field: str) -> str:
    """The API's name for a domain field, so errors point at what the client sent."""
    return _INPUT_NAMES.get(field, field)
