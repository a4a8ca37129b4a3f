"""The Partner aggregate: a company or a person, its coordinates, hierarchy and roles."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, cast
from uuid import UUID

from eventsourcing.domain import Aggregate

from app.domain import contact_fields as cf
from app.domain.audited import Audit, AuditedCreated, AuditedEvent
from app.domain.catalog import Invalid, normalize_money
from app.domain.erasure import PERSONAL_FIELDS, check_can_anonymize, check_not_anonymized
from app.domain.errors import (
    DomainError,
    ErrorCode,
    FieldError,
    archived,
    invalid_hierarchy,
)
from app.domain.partner_state import PartnerField, PartnerState, PartnerValues

KINDS = ("COMPANY", "PERSON")
ADDRESS_TYPES = ("CONTACT", "INVOICE", "DELIVERY", "OTHER")
TYPE_LABELS = {
    "CONTACT": "Contact",
    "INVOICE": "Invoice Address",
    "DELIVERY": "Delivery Address",
    "OTHER": "Other Address",
}

TEXT_FIELDS: tuple[PartnerField, ...] = (
    "name",
    "function",
    "street",
    "street2",
    "city",
    "zip",
    "ref",
    "company_registry",
    "notes",
    "external_id",
)
CODED_FIELDS: tuple[PartnerField, ...] = (
    "email",
    "phone",
    "mobile",
    "website",
    "lang",
    "tz",
    "country_code",
    "state_code",
    "vat",
)
FLAG_FIELDS: tuple[PartnerField, ...] = ("is_customer", "is_supplier")
REFERENCE_FIELDS: tuple[PartnerField, ...] = ("parent_id", "industry_id", "salesperson_id")
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
MAX_TEXT = {"notes": 20_000}
DEFAULT_MAX_TEXT = 500


class PartnerChanged(AuditedEvent):
    """An event that sets some of a partner's fields."""

    changes: dict[str, Any]
    """The fields set (None: cleared), stored as a dict: read them as `partner_changes`."""

    @property
    def partner_changes(self) -> PartnerValues:
        return cast(PartnerValues, self.changes)

    def apply(self, aggregate: Aggregate) -> None:
        assert isinstance(aggregate, Partner)
        aggregate.values.update(self.changes)


class Partner(Aggregate):
    """A business partner. Commands validate and record events carrying only what changed."""

    anonymized = False
    """True once its personal data was erased (see app/domain/erasure.py)."""

    class Registered(AuditedCreated):
        kind: str
        values: dict[str, Any]
        """The fields it was registered with, stored as a dict: read `partner_values`."""

        @property
        def partner_values(self) -> PartnerValues:
            return cast(PartnerValues, self.values)

    class Updated(PartnerChanged):
        """Coordinates, roles, hierarchy or tags changed (updatePartner, an import)."""

    class CommercialTermsSet(PartnerChanged):
        """Sales and purchase terms changed (on a commercial partner)."""

    class TagsAdded(AuditedEvent):
        tag_ids: list[str]

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Partner)
            aggregate.values["tag_ids"] = sorted({*aggregate.tag_ids, *self.tag_ids})

    class TagsRemoved(AuditedEvent):
        tag_ids: list[str]

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Partner)
            aggregate.values["tag_ids"] = sorted(set(aggregate.tag_ids) - set(self.tag_ids))

    class Archived(AuditedEvent):
        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Partner)
            aggregate.archived = True

    class Restored(AuditedEvent):
        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Partner)
            aggregate.archived = False

    def __init__(self, kind: str, values: dict[str, Any]) -> None:
        self.kind = kind
        self.values: dict[str, Any] = dict.fromkeys((*FIELDS, *TERM_FIELDS)) | dict(values)
        """Every field as the events stored it (snapshots store it so): read `state`."""
        self.archived = False
        self.anonymized = False

    # -- commands ---------------------------------------------------------------------

    @classmethod
    def register(
        cls,
        *,
        partner_id: UUID,
        kind: str,
        values: Mapping[str, Any],
        audit: Audit,
        parent: Partner | None = None,
        parent_ancestry: Iterable[UUID] = (),
    ) -> Partner:
        if kind not in KINDS:
            raise DomainError.single(ErrorCode.VALIDATION, f"kind must be one of {KINDS}", "kind")
        draft = {"type": "CONTACT", "is_customer": False, "is_supplier": False}
        draft.update({k: v for k, v in values.items() if v is not None})
        clean = normalize_values(draft, region=_region(draft, parent))
        _check_complete(kind, clean)
        _check_commercial_fields(kind, clean, clean)
        if clean.get("parent_id") is not None:
            _check_parent(partner_id, parent, parent_ancestry)
        stored = {k: v for k, v in clean.items() if v is not None}
        return cls._create(
            cls.Registered, id=partner_id, kind=kind, values=stored, **audit.as_event_fields()
        )

    def update(
        self,
        changes: Mapping[str, Any],
        audit: Audit,
        *,
        parent: Partner | None = None,
        parent_ancestry: Iterable[UUID] = (),
    ) -> bool:
        """Applies a patch (a field set to None is cleared). Returns False when nothing
        would change, in which case nothing is recorded."""
        self._check_not_archived()
        unknown = set(changes) - set(FIELDS)
        if unknown:
            raise DomainError.single(
                ErrorCode.VALIDATION, f"unknown fields: {sorted(unknown)}", *sorted(unknown)
            )
        check_not_anonymized(self.anonymized, changes)
        merged = self.values | dict(changes)
        clean = normalize_values(
            dict(changes), region=_region(merged, parent), country=self.country_code
        )
        state_code = self.state.state_code
        if "country_code" in changes and "state_code" not in changes and state_code:
            # The stored state must still belong to the (new) country.
            try:
                cf.normalize_state(state_code, clean.get("country_code"))
            except cf.FieldInvalid as error:
                raise DomainError.single(ErrorCode.VALIDATION, str(error), "stateCode") from None
        if not self.anonymized:  # an anonymized partner has no name any more
            _check_complete(self.kind, self.values | clean)
        _check_commercial_fields(self.kind, self.values | clean, clean)
        if clean.get("parent_id") is not None and clean["parent_id"] != self.state.parent_id:
            _check_parent(self.id, parent, parent_ancestry)
        diff = self.changed(clean)
        if not diff:
            return False
        self.trigger_event(self.Updated, changes=diff, **audit.as_event_fields())
        return True

    def set_commercial_terms(self, changes: Mapping[str, Any], audit: Audit) -> bool:
        """Patches the sales & purchase terms; only a commercial partner holds them."""
        self._check_not_archived()
        if not self.is_commercial:
            raise DomainError(
                [
                    FieldError(
                        ("id",),
                        ErrorCode.VALIDATION,
                        "commercial terms belong to the commercial partner: set them on the "
                        "company this contact belongs to",
                        refers_to=("Partner", str(self.state.parent_id)),
                    )
                ]
            )
        clean = normalize_terms(changes)
        diff = self.changed(clean)
        if not diff:
            return False
        self.trigger_event(self.CommercialTermsSet, changes=diff, **audit.as_event_fields())
        return True

    def add_tags(self, tag_ids: Iterable[UUID], audit: Audit) -> bool:
        self._check_not_archived()
        new = sorted({str(t) for t in tag_ids} - set(self.tag_ids))
        if not new:
            return False
        self.trigger_event(self.TagsAdded, tag_ids=new, **audit.as_event_fields())
        return True

    def remove_tags(self, tag_ids: Iterable[UUID], audit: Audit) -> bool:
        self._check_not_archived()
        gone = sorted({str(t) for t in tag_ids} & set(self.tag_ids))
        if not gone:
            return False
        self.trigger_event(self.TagsRemoved, tag_ids=gone, **audit.as_event_fields())
        return True

    def archive(self, audit: Audit) -> bool:
        if self.archived:
            return False
        self.trigger_event(self.Archived, **audit.as_event_fields())
        return True

    def restore(self, audit: Audit) -> bool:
        if not self.archived:
            return False
        if self.merged_into is not None:
            raise DomainError.single(
                ErrorCode.VALIDATION, "this partner is merged: unmergePartner restores it", "id"
            )
        self.trigger_event(self.Restored, **audit.as_event_fields())
        return True

    class Anonymized(AuditedEvent):
        """The person's personal data was erased: its key is deleted after this event."""

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Partner)
            aggregate.anonymized = True
            for field in PERSONAL_FIELDS:
                if field in aggregate.values:
                    aggregate.values[field] = None

    def anonymize(self, audit: Audit) -> bool:
        """Erases a person's personal data (crypto-shredding); False when already done."""
        check_can_anonymize(self.kind)
        if self.anonymized:
            return False
        self.trigger_event(self.Anonymized, **audit.as_event_fields())
        return True

    # -- reads used by other commands -------------------------------------------------

    @property
    def state(self) -> PartnerState:
        """Every field, typed (built from `values` when asked: it is not stored)."""
        return PartnerState.of(self.values)

    def changed(self, changes: Mapping[str, Any]) -> dict[str, Any]:
        """The given fields whose values differ from this partner's."""
        return {k: v for k, v in changes.items() if self.values.get(k) != v}

    # The few fields other commands read often, typed without building the whole state.

    @property
    def parent_id(self) -> UUID | None:
        value = self.values.get("parent_id")
        return UUID(value) if value else None

    @property
    def is_commercial(self) -> bool:
        """A company, or a partner on its own, holds its commercial terms."""
        return self.kind == "COMPANY" or self.values.get("parent_id") is None

    @property
    def tag_ids(self) -> list[str]:
        return list(self.values.get("tag_ids") or [])

    @property
    def country_code(self) -> str | None:
        value = self.values.get("country_code")
        return str(value) if value else None

    def _check_not_archived(self) -> None:
        if self.archived:
            raise archived("the partner is archived: restore it before changing it", "id")

    # -- merging (see app/domain/merge.py and app/application/merging.py) --------------

    merged_into: str | None = None
    """The partner this one was merged into (it is then archived); None otherwise."""
    merge: dict[str, Any] | None = None
    """What the merge of this partner moved (the `Merged` event's record), for unmerge."""
    absorbed: dict[str, dict[str, Any]] | None = None
    """Merge id -> what this destination took from the merge's sources, for unmerge."""

    class Merged(AuditedEvent):
        """This partner (a source) was merged into another: archived, nothing deleted."""

        merge_id: str
        into: str
        moved: dict[str, list[str]]
        """What followed the destination: ids by kind (children, activities, ...)."""
        tags_added: list[str]
        """Tags this partner gave the destination (it did not have them before)."""

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Partner)
            aggregate.archived = True
            aggregate.merged_into = self.into
            aggregate.merge = {
                "merge_id": self.merge_id,
                "into": self.into,
                "moved": self.moved,
                "tags_added": self.tags_added,
            }

    class Absorbed(PartnerChanged):
        """This partner (the destination) absorbed the sources of a merge: `changes`
        holds the chosen fields' new values."""

        merge_id: str
        source_ids: list[str]
        previous: dict[str, Any]
        """The chosen fields' values before the merge, for unmerge."""
        chosen_from: dict[str, str]
        """Chosen field -> the source its value came from."""
        tags_added: list[str]

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Partner)
            aggregate.values.update(self.changes)
            if self.tags_added:
                aggregate.values["tag_ids"] = sorted({*aggregate.tag_ids, *self.tags_added})
            aggregate.absorbed = {
                **(aggregate.absorbed or {}),
                self.merge_id: {
                    "source_ids": list(self.source_ids),
                    "changes": dict(self.changes),
                    "previous": dict(self.previous),
                    "chosen_from": dict(self.chosen_from),
                    "tags_added": list(self.tags_added),
                },
            }

    class Unmerged(AuditedEvent):
        """A merged partner restored: active again, `merged_into` cleared."""

        merge_id: str
        was_merged_into: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Partner)
            aggregate.archived = False
            aggregate.merged_into = None
            aggregate.merge = None

    class Separated(PartnerChanged):
        """The destination gave back what one unmerged source brought to it: `changes`
        reverts the chosen fields to their values before the merge."""

        merge_id: str
        source_id: str
        tags_removed: list[str]

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Partner)
            aggregate.values.update(self.changes)
            if self.tags_removed:
                remaining = set(aggregate.tag_ids) - set(self.tags_removed)
                aggregate.values["tag_ids"] = sorted(remaining)
            record = dict((aggregate.absorbed or {}).get(self.merge_id) or {})
            if record:
                record["source_ids"] = [s for s in record["source_ids"] if s != self.source_id]
                taken = [f for f, s in record["chosen_from"].items() if s == self.source_id]
                record["chosen_from"] = {
                    f: s for f, s in record["chosen_from"].items() if f not in taken
                }
                record["tags_added"] = [
                    t for t in record.get("tags_added", []) if t not in self.tags_removed
                ]
                aggregate.absorbed = {**(aggregate.absorbed or {}), self.merge_id: record}

    class Reparented(AuditedEvent):
        """A child moved to another parent by a merge or an unmerge."""

        parent_id: str | None
        previous_parent_id: str | None
        merge_id: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Partner)
            aggregate.values["parent_id"] = self.parent_id


def _region(values: Mapping[str, Any], parent: Partner | None) -> str | None:
    """Default region for phone numbers: the partner's country, else its parent's."""
    own = values.get("country_code")
    if own:
        return str(own).strip().upper()
    return parent.country_code if parent is not None else None


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


def normalize_values(
    values: Mapping[str, Any], *, region: str | None, country: str | None = None
) -> dict[str, Any]:
    """Validates and normalises every given field, reporting all problems at once."""
    errors: list[FieldError] = []
    clean: dict[str, Any] = {}

    def fail(field: str, message: str) -> None:
        errors.append(FieldError((input_name(field),), ErrorCode.VALIDATION, message))

    country_code = country
    if values.get("country_code") is not None:
        try:
            country_code = cf.normalize_country(str(values["country_code"]))
        except cf.FieldInvalid as error:
            fail("country_code", str(error))
            country_code = None
    elif "country_code" in values:
        country_code = None

    for field, value in values.items():
        if field == "country_code" and value is not None:
            if country_code is not None:
                clean[field] = country_code
            continue
        if value is None:
            if field in ("type", *FLAG_FIELDS):
                fail(field, f"{input_name(field)} cannot be cleared")
            clean[field] = None
            continue
        try:
            clean[field] = _normalize_one(field, value, region=region, country=country_code)
        except cf.FieldInvalid as error:
            fail(field, str(error))
    if errors:
        raise DomainError(errors)
    return clean


def _normalize_one(field: str, value: Any, *, region: str | None, country: str | None) -> Any:
    if field == "tag_ids":
        if not isinstance(value, list | tuple):
            raise cf.FieldInvalid("tagIds must be a list of tag ids")
        return sorted({_uuid_text(v, field) for v in value})
    if field in FLAG_FIELDS:
        if not isinstance(value, bool):
            raise cf.FieldInvalid(f"{input_name(field)} must be true or false")
        return value
    if not isinstance(value, str):
        raise cf.FieldInvalid(f"{input_name(field)} must be text")
    if field in TEXT_FIELDS:
        text = value.strip()
        limit = MAX_TEXT.get(field, DEFAULT_MAX_TEXT)
        if len(text) > limit:
            raise cf.FieldInvalid(f"{input_name(field)} is longer than {limit} characters")
        if "\x00" in text:
            raise cf.FieldInvalid(f"{input_name(field)} contains a NUL character")
        return text or None
    match field:
        case "type":
            if value not in ADDRESS_TYPES:
                raise cf.FieldInvalid(f"type must be one of {ADDRESS_TYPES}")
            return value
        case "parent_id" | "industry_id" | "salesperson_id":
            return _uuid_text(value, field)
        case "email":
            return cf.normalize_email(value)
        case "phone" | "mobile":
            return cf.normalize_phone(value, region)
        case "website":
            return cf.normalize_website(value)
        case "lang":
            return cf.normalize_lang(value)
        case "tz":
            return cf.normalize_tz(value)
        case "country_code":
            return cf.normalize_country(value)
        case "state_code":
            return cf.normalize_state(value, country)
        case "vat":
            return cf.normalize_vat(value, country)
    raise cf.FieldInvalid(f"unknown field {field}")


_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
"""An id as str(UUID(...)) writes it: already normalised."""


def _uuid_text(value: Any, field: str) -> str:
    if isinstance(value, str) and _CANONICAL_UUID.fullmatch(value):
        return value
    try:
        return str(UUID(str(value)))
    except ValueError:
        raise cf.FieldInvalid(f"{input_name(field)}: '{value}' is not an id") from None


def normalize_terms(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Validates a patch of commercial terms (ids of catalog entries, a credit limit)."""
    errors: list[FieldError] = []
    clean: dict[str, Any] = {}
    for field, value in changes.items():
        try:
            if field not in TERM_FIELDS:
                raise cf.FieldInvalid(f"{input_name(field)} is not a commercial term")
            if value is None:
                clean[field] = None
            elif field == "credit_limit":
                clean[field] = _credit_limit(value)
            else:
                clean[field] = _uuid_text(value, field)
        except cf.FieldInvalid as error:
            errors.append(FieldError((input_name(field),), ErrorCode.VALIDATION, str(error)))
    if errors:
        raise DomainError(errors)
    return clean


def _credit_limit(value: Any) -> dict[str, str]:
    try:
        money = normalize_money(value)
    except Invalid as error:
        raise cf.FieldInvalid(f"creditLimit {error}") from None
    assert money is not None
    return money


def _check_commercial_fields(
    kind: str, values: Mapping[str, Any], given: Mapping[str, Any]
) -> None:
    """A contact of a company uses its company's VAT and industry; it cannot set its own."""
    if kind == "COMPANY" or values.get("parent_id") is None:
        return
    errors = [
        FieldError(
            (input_name(field),),
            ErrorCode.VALIDATION,
            f"{input_name(field)} is a commercial field: it is the company's, set it there",
            refers_to=("Partner", str(values["parent_id"])),
        )
        for field in COMMERCIAL_FIELDS
        if given.get(field) is not None
    ]
    if errors:
        raise DomainError(errors)


def _check_complete(kind: str, values: Mapping[str, Any]) -> None:
    """A contact needs a name; an unnamed invoice/delivery/other address shows its type."""
    if not values.get("name") and values.get("type", "CONTACT") == "CONTACT":
        raise DomainError.single(ErrorCode.VALIDATION, "a name is required", "name")
    if kind == "COMPANY" and values.get("type", "CONTACT") != "CONTACT" and values.get("parent_id"):
        raise DomainError.single(
            ErrorCode.VALIDATION,
            "a company inside another company is a subsidiary: its type must be CONTACT",
            "type",
        )


def _check_parent(child_id: UUID, parent: Partner | None, ancestry: Iterable[UUID]) -> None:
    """Only a company can be a parent, and the hierarchy has no cycles."""
    if parent is None:
        raise DomainError.single(
            ErrorCode.NOT_FOUND, "the parent partner does not exist", "parentId"
        )
    if parent.kind != "COMPANY":
        raise invalid_hierarchy(
            "only a company can be a parent; this parent is a person", "parentId"
        )
    if parent.id == child_id or child_id in set(ancestry):
        raise invalid_hierarchy("this parent would make a cycle in the hierarchy", "parentId")
    if parent.archived:
        raise archived("the parent partner is archived", "parentId")
