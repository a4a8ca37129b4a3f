"""The rules a partner's values keep together, and its place in the hierarchy: a contact
has a name, a company's contact takes its commercial fields from the company, a parent is
an active company and no hierarchy has a cycle."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any
from uuid import UUID

from app.domain import contact_fields as cf
from app.domain.errors import DomainError, ErrorCode, FieldError, archived, invalid_hierarchy
from app.domain.messages import Message
from app.domain.partner_fields import COMMERCIAL_FIELDS, input_name

if TYPE_CHECKING:
    from app.domain.partner import Partner


def check_commercial_fields(kind: str, values: Mapping[str, Any], given: Mapping[str, Any]) -> None:
    """A contact of a company uses its company's VAT and industry; it cannot set its own."""
    if kind == "COMPANY" or values.get("parent_id") is None:
        return
    errors = [
        FieldError(
            (input_name(field),),
            ErrorCode.VALIDATION,
            Message(
                "%(value)s is a commercial field: it is the company's, set it there",
                value=input_name(field),
            ),
            refers_to=("Partner", str(values["parent_id"])),
        )
        for field in COMMERCIAL_FIELDS
        if given.get(field) is not None
    ]
    if errors:
        raise DomainError(errors)


def check_complete(kind: str, values: Mapping[str, Any]) -> None:
    """A contact needs a name; an unnamed invoice/delivery/other address shows its type."""
    if not values.get("name") and values.get("type", "CONTACT") == "CONTACT":
        raise DomainError.single(ErrorCode.VALIDATION, "a name is required", "name")
    if kind == "COMPANY" and values.get("type", "CONTACT") != "CONTACT" and values.get("parent_id"):
        raise DomainError.single(
            ErrorCode.VALIDATION,
            "a company inside another company is a subsidiary: its type must be CONTACT",
            "type",
        )


def check_state_in_country(state_code: str, country_code: str | None) -> None:
    """A stored state must still belong to the (new) country."""
    try:
        cf.normalize_state(state_code, country_code)
    except cf.FieldInvalid as error:
        raise DomainError.single(ErrorCode.VALIDATION, str(error), "stateCode") from None


def check_parent(child_id: UUID, parent: Partner | None, ancestry: Iterable[UUID]) -> None:
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
