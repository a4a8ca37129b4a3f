"""The column layout of an Odoo contacts export ("import-compatible"), read into partner
values: pure functions, no registry look-ups (those are the import command's job).

A row becomes an `OdooRow`: the partner's own values as domain fields, plus what must be
resolved against the registry (external ids, parent, tags, industry, salesperson)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any
from uuid import UUID

from app.domain.formula_cells import restore
from app.domain.messages import Message
from app.domain.odoo_places import COUNTRY_XIDS as COUNTRY_XIDS  # re-exported, as below
from app.domain.odoo_places import country_code as country_code
from app.domain.odoo_places import country_xid as country_xid
from app.domain.odoo_places import state_code as state_code
from app.domain.odoo_places import state_label as state_label
from app.domain.odoo_rows import OdooRow as OdooRow  # re-exported: importers name oc.OdooRow
from app.domain.odoo_rows import Problem as Problem
from app.domain.text import storable, unstorable_reason

PARTNERBOOK_PARTNER = "partnerbook.partner_"
"""External id prefix of partners that were not imported: `partnerbook.partner_<uuid hex>`."""
PARTNERBOOK_TAG = "partnerbook.tag_"

DIRECT = {
    "name": "name",
    "function": "function",
    "street": "street",
    "street2": "street2",
    "zip": "zip",
    "city": "city",
    "phone": "phone",
    "mobile": "mobile",
    "email": "email",
    "website": "website",
    "vat": "vat",
    "ref": "ref",
    "lang": "lang",
    "comment": "notes",
    "company_registry": "company_registry",
    "tz": "tz",
}
"""Odoo column -> domain field, copied as text."""

OTHER = (
    "id",
    "is_company",
    "company_type",
    "parent_id",
    "parent_id/id",
    "type",
    "state_id",
    "state_id/id",
    "country_id",
    "country_id/id",
    "category_id",
    "category_id/id",
    "user_id",
    "user_id/id",
    "industry_id",
    "industry_id/id",
    "customer_rank",
    "supplier_rank",
    "customer",
    "supplier",
    "active",
)
KNOWN_COLUMNS = frozenset((*DIRECT, *OTHER))

FIELD_COLUMN = {
    **{name: column for column, name in DIRECT.items()},
    "type": "type",
    "country_code": "country_id",
    "countryCode": "country_id",
    "state_code": "state_id",
    "stateCode": "state_id",
    "parent_id": "parent_id",
    "parentId": "parent_id",
    "tag_ids": "category_id",
    "tagIds": "category_id",
    "industry_id": "industry_id",
    "industryId": "industry_id",
    "salesperson_id": "user_id",
    "salespersonId": "user_id",
    "is_customer": "customer_rank",
    "isCustomer": "customer_rank",
    "is_supplier": "supplier_rank",
    "isSupplier": "supplier_rank",
    "external_id": "id",
    "externalId": "id",
    "companyRegistry": "company_registry",
    "kind": "is_company",
}
"""Domain field (or its API name, as errors name it) -> the Odoo column to report."""

TYPES = {
    "contact": "CONTACT",
    "invoice": "INVOICE",
    "invoice address": "INVOICE",
    "delivery": "DELIVERY",
    "delivery address": "DELIVERY",
    "shipping address": "DELIVERY",
    "other": "OTHER",
    "other address": "OTHER",
    "private": "OTHER",
    "private address": "OTHER",
    "followup": "OTHER",
}
TYPE_OUT = {"CONTACT": "contact", "INVOICE": "invoice", "DELIVERY": "delivery", "OTHER": "other"}

_TRUE = {"1", "true", "t", "yes", "y", "x", "vrai", "oui"}
_FALSE = {"", "0", "false", "f", "no", "n", "faux", "non"}
ADDRESS_FIELDS = ("street", "street2", "zip", "city", "state_code", "country_code")
Cells = Callable[[str], str | None]
"""A row's cells: column -> its text, stripped (None: the file has no such column)."""


def unknown_columns(header: list[str]) -> list[str]:
    return [c for c in header if c.strip() not in KNOWN_COLUMNS]


def parse_bool(text: str) -> bool | None:
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    return None


def partner_id_of_xid(xid: str) -> UUID | None:
    """The partner a `partnerbook.partner_<hex>` external id names, else None."""
    if not xid.startswith(PARTNERBOOK_PARTNER):
        return None
    try:
        return UUID(hex=xid.removeprefix(PARTNERBOOK_PARTNER))
    except ValueError:
        return None


def xid_of_partner(partner_id: UUID, external_id: str | None) -> str:
    return external_id or f"{PARTNERBOOK_PARTNER}{partner_id.hex}"


def tag_paths(text: str) -> list[list[str]]:
    """`Region / EMEA, VIP` -> [["Region", "EMEA"], ["VIP"]]; `Smith\\, Jones` is one tag
    (see `tag_cell`)."""
    return [path for name in _split_names(text) if (path := tag_path(name))]


def tag_path(name: str) -> list[str]:
    """`Region / EMEA` -> ["Region", "EMEA"]."""
    return [p.strip() for p in name.split(" / ") if p.strip()]


def tag_cell(paths: list[str]) -> str:
    """The `category_id` cell of tag paths. Odoo joins names with commas and has no escape
    (ir_fields splits on every comma): a comma in a name is written `\\,`, and a run of
    backslashes that comes before a comma, or ends a name, is doubled; no other backslash
    changes, so Odoo's own names (`C:\\Temp`) read as they are. `tag_paths` undoes it."""
    return ",".join(_ESCAPED.sub(lambda m: m[1] * 2 + ("\\," if m[2] else ""), p) for p in paths)


_ESCAPED = re.compile(r"(\\*)(,|\Z)")


def _split_names(text: str) -> list[str]:
    """A `category_id` cell split on its commas, `tag_cell`'s escapes undone: a run of
    backslashes before a comma or at the end is halved, and an odd one escapes the comma."""
    names: list[str] = []
    current: list[str] = []
    at = 0
    while at < len(text):
        if text[at] == "\\":
            end = at
            while end < len(text) and text[end] == "\\":
                end += 1
            run = end - at
            if end < len(text) and text[end] == ",":
                current.append("\\" * (run // 2) + ("," if run % 2 else ""))
                if run % 2:
                    end += 1
            elif end == len(text):
                current.append("\\" * ((run + 1) // 2))  # an odd run: not ours, one kept
            else:
                current.append("\\" * run)
            at = end
        elif text[at] == ",":
            names.append("".join(current))
            current = []
            at += 1
        else:
            current.append(text[at])
            at += 1
    names.append("".join(current))
    return names


def read_row(line: int, record: Mapping[str, Any]) -> OdooRow:
    """Reads one row (column -> text; `category_id` may also be a list of names). A row
    with text PostgreSQL cannot store (NUL; a lone surrogate, as a byte that is not UTF-8
    reads) is rejected at once, naming each such column: nothing else is read from it.
    A cell our export neutralised against formulas (`'=...`) reads as the value it
    stands for."""
    row = OdooRow(line=line, rejected=_unstorable(line, record))
    if row.rejected:
        return row

    def text(column: str) -> str | None:
        value = record.get(column)
        return None if value is None else restore(str(value).strip())

    row.xid = text("id") or None
    for column, name in DIRECT.items():
        if column in record:
            row.values[name] = text(column) or None
    _read_kind_and_type(row, text)
    row.parent_given = "parent_id" in record or "parent_id/id" in record
    row.parent_xid = text("parent_id/id") or None
    row.parent_name = text("parent_id") or None
    _read_address(row, text)
    _read_tags(row, record)
    _read_catalog_names(row, record, text)
    for role, field_name in (("customer", "is_customer"), ("supplier", "is_supplier")):
        flag = _role(row, text, role)
        if flag is not None:
            row.values[field_name] = flag
    active = text("active")
    if active is not None and active != "":
        row.active = parse_bool(active)
        if row.active is None:
            row.refuse("active", "'%(value)s' is not true or false", value=active)
    return row


def _unstorable(line: int, record: Mapping[str, Any]) -> list[Problem]:
    """One problem per column holding text PostgreSQL cannot store."""
    problems = []
    for column, value in record.items():
        for item in value if isinstance(value, list) else [value]:
            reason = unstorable_reason(item) if isinstance(item, str) else None
            if reason is not None:
                because = Message("the text %(reason)s", reason=reason)
                problems.append(Problem(line, storable(str(column)), because))
                break
    return problems


def _read_kind_and_type(row: OdooRow, text: Cells) -> None:
    """Company or person (`is_company`, `company_type`), and the address type (`type`)."""
    company = text("is_company")
    if company is not None:
        flag = parse_bool(company)
        if flag is None:
            row.refuse("is_company", "'%(value)s' is not true or false", value=company)
        row.kind = "COMPANY" if flag else "PERSON"
    company_type = text("company_type")
    if company_type:
        row.kind = "COMPANY" if company_type.lower() == "company" else "PERSON"
    kind_type = text("type")
    if kind_type is not None:
        if not kind_type:
            row.values["type"] = "CONTACT"
        elif kind_type.lower() in TYPES:
            row.values["type"] = TYPES[kind_type.lower()]
        else:
            row.refuse("type", "unknown address type '%(type)s'", type=kind_type)


def _read_catalog_names(row: OdooRow, record: Mapping[str, Any], text: Cells) -> None:
    """Industry and salesperson by name; by external id they cannot be resolved here."""
    for column, attr in (("industry_id", "industry"), ("user_id", "salesperson")):
        xid_column = f"{column}/id"
        if column in record:
            setattr(row, f"has_{attr}", True)
            setattr(row, attr, text(column) or None)
        elif xid_column in record and (xid := text(xid_column)):
            _warn_unresolvable(row, xid_column, xid)


def _role(row: OdooRow, text: Cells, role: str) -> bool | None:
    rank = text(f"{role}_rank")
    if rank is not None and rank != "":
        try:
            number = float(rank)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):  # `inf` and `1e999` stopped the whole import
            row.refuse(f"{role}_rank", "'%(rank)s' is not a number", rank=rank)
            return None
        return int(number) > 0
    flag = text(role)
    if flag is not None and flag != "":
        value = parse_bool(flag)
        if value is None:
            row.refuse(role, "'%(value)s' is not true or false", value=flag)
        return value
    return None


def _read_address(row: OdooRow, text: Cells) -> None:
    country: str | None = None
    for column, by_xid in (("country_id/id", True), ("country_id", False)):
        given = text(column)
        if given is None:
            continue
        row.values["country_code"] = None
        if not given:
            continue
        country = country_code(given, by_xid=by_xid)
        if country is None:
            row.refuse(column, "unknown country '%(given)s'", given=given)
        else:
            row.values["country_code"] = country
        break
    for column in ("state_id", "state_id/id"):
        given = text(column)
        if given is None:
            continue
        row.values["state_code"] = None
        if not given:
            continue
        if column == "state_id/id":
            given = given.rpartition(".")[2].removeprefix("state_").replace("_", "-")
        code = state_code(given, country)
        if code is None:
            row.warn_about(
                column, "state '%(value)s' not recognised: left empty", value=text(column)
            )
        else:
            row.values["state_code"] = code
        break


def _read_tags(row: OdooRow, record: Mapping[str, Any]) -> None:
    if "category_id" in record:
        given = record["category_id"]
        if isinstance(given, list | tuple):
            # importPartners: each element is one tag path, commas and all.
            paths = [tag_path(restore(str(g).strip())) for g in given]
            row.tags = [p for p in paths if p]
        else:
            row.tags = tag_paths(restore(str(given or "").strip()))
    if record.get("category_id/id"):
        row.tags = row.tags or []
        for xid in str(record["category_id/id"]).split(","):
            xid = xid.strip()
            try:
                if not xid.startswith(PARTNERBOOK_TAG):
                    raise ValueError
                row.tag_ids.append(UUID(hex=xid.removeprefix(PARTNERBOOK_TAG)))
            except ValueError:
                _warn_unresolvable(row, "category_id/id", xid, "tag ")


def _warn_unresolvable(row: OdooRow, xid_column: str, xid: str, what: str = "") -> None:
    """An external id of Odoo's own: only names can be resolved here."""
    column = xid_column.removesuffix("/id")
    message = Message(
        "%(what)sexternal id '%(xid)s' not resolvable here: export %(column)s by name; ignored"
    )
    row.warn_about(xid_column, message, what=what, xid=xid, column=column)


def column_of(field_path: tuple[str, ...] | list[str]) -> str:
    """The Odoo column a domain error's field refers to."""
    if not field_path:
        return ""
    return FIELD_COLUMN.get(field_path[0], field_path[0])
