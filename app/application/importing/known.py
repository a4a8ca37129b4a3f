"""What an import compares its rows with: the registered partners, tags and catalog
entries as the read model holds them, the keys a row finds a registered partner by, and
the partners indexed by those keys."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from app.domain import contact_fields as cf
from app.domain import odoo_columns as oc
from app.domain.partner_state import PartnerState

EXTERNAL_ID_NAMESPACE = uuid5(NAMESPACE_URL, "https://partnerbook.dev/external-id")
"""New partners' ids: uuid5 of their external id."""
KEYED_NAMESPACE = uuid5(NAMESPACE_URL, "https://partnerbook.dev/keyed-import-row")
"""The ids an idempotency key gives its rows: uuid5 of `key:row`. They were made in the
external ids' namespace, where `key:row` is also an external id: an import under key `K`
overwrote the partner imported with the external id `K:1`."""


def keyed_id(idempotency_key: str, line: int) -> UUID:
    """The id of the partner a row without an external id creates under an idempotency
    key: the same on a repeat, so the repeat finds it (`keyed.py`)."""
    return uuid5(KEYED_NAMESPACE, f"{idempotency_key}:{line}")


def legacy_keyed_id(idempotency_key: str, line: int) -> UUID:
    """The id such a row was given before session 42 (in the external ids' namespace): a
    repeat of an import made then finds its partners by it (`KeyedRows.check`)."""
    return uuid5(EXTERNAL_ID_NAMESPACE, f"{idempotency_key}:{line}")


@dataclass(frozen=True)
class KnownPartner:
    """A partner as the read model holds it: its own (not inherited) domain values."""

    id: UUID
    kind: str
    archived: bool
    values: dict[str, Any]

    @property
    def state(self) -> PartnerState:
        return PartnerState.of(self.values)


@dataclass(frozen=True)
class KnownEntry:
    id: UUID
    name: str
    archived: bool
    parent_id: UUID | None = None


@dataclass
class ImportLookups:
    """Everything the plan compares with, read once before the import."""

    partners: list[KnownPartner] = field(default_factory=list)
    tags: list[KnownEntry] = field(default_factory=list)
    industries: list[KnownEntry] = field(default_factory=list)
    salespersons: list[KnownEntry] = field(default_factory=list)


@dataclass(frozen=True)
class MatchKeys:
    """What the rows may find registered partners by: the ids and external ids they and
    their parents have (and, under an idempotency key, the ids it gives the rows without
    an external id), references, VATs (normalised), emails (lower-cased) and the company
    names of parents (casefolded)."""

    ids: list[UUID]
    xids: list[str]
    refs: list[str]
    vats: list[str]
    emails: list[str]
    company_names: list[str]

    @classmethod
    def of(cls, rows: Sequence[oc.OdooRow], idempotency_key: str | None = None) -> MatchKeys:
        xids = {r.xid for r in rows if r.xid} | {r.parent_xid for r in rows if r.parent_xid}
        keyed: list[UUID] = []
        if idempotency_key:
            keyed = [
                made(idempotency_key, r.line)
                for r in rows
                if not r.xid
                for made in (keyed_id, legacy_keyed_id)
            ]
        vats: list[str] = []
        for r in rows:
            if r.values.get("vat"):
                with contextlib.suppress(cf.FieldInvalid):
                    vats.append(cf.normalize_vat(r.values["vat"], r.values.get("country_code")))
        return cls(
            ids=[i for x in xids if (i := oc.partner_id_of_xid(x)) is not None] + keyed,
            xids=list(xids),
            refs=[r.values["ref"] for r in rows if r.values.get("ref")],
            vats=vats,
            emails=[r.values["email"].lower() for r in rows if r.values.get("email")],
            company_names=[r.parent_name.casefold() for r in rows if r.parent_name],
        )


class KnownPartners:
    """The registered partners of the look-ups by id, by external id, by ref, VAT and
    email (lower-cased), and the companies by name (casefolded)."""

    def __init__(self, partners: Sequence[KnownPartner]) -> None:
        self.by_id = {p.id: p for p in partners}
        self.by_xid: dict[str, KnownPartner] = {}
        self.by_key: dict[str, dict[str, list[KnownPartner]]] = {"ref": {}, "vat": {}, "email": {}}
        self.by_company_name: dict[str, list[KnownPartner]] = {}
        for p in partners:
            state = p.state
            if state.external_id:
                self.by_xid[state.external_id] = p
            for key, value in (
                ("ref", state.ref),
                ("vat", state.vat),
                ("email", (state.email or "").lower() or None),
            ):
                if value and value != cf.NO_VAT:
                    self.by_key[key].setdefault(value, []).append(p)
            if p.kind == "COMPANY" and state.name:
                self.by_company_name.setdefault(state.name.casefold(), []).append(p)
