"""Which partner each row of an import is, and the order the rows are applied in.

Matching (upsert) order: external id, then reference, then VAT, then normalised email.
A fallback match (ref/VAT/email) must be unique and must not carry another external id.
A new partner with an external id gets a deterministic id (uuid5 of the external id), so
two imports racing on the same external id cannot both create it; under an idempotency
key, a row without one gets the id of the key and its row number (`keyed.py`), which a
repeat finds before any fallback. A parent is named by external id or by company name,
in the file or registered; parents come first."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid4, uuid5

from app.application.importing.known import (
    EXTERNAL_ID_NAMESPACE,
    KnownPartner,
    KnownPartners,
)
from app.application.importing.report import Outcomes
from app.domain import contact_fields as cf
from app.domain import odoo_columns as oc


@dataclass
class Plan:
    """What a row will do: the partner it creates or updates (`target`), and its parent."""

    row: oc.OdooRow
    target: UUID
    known: KnownPartner | None
    kind: str
    parent: UUID | None = None
    parent_given: bool = False
    parent_plan: Plan | None = field(default=None, repr=False, compare=False)
    """The plan of its parent, when the file has one."""
    clean: dict[str, Any] = field(default_factory=dict)
    """The values it will have (for its children's checks)."""


class Planner:
    """Plans the rows against the registered partners; a row that cannot be planned is
    rejected in `outcomes`."""

    def __init__(self, known: KnownPartners, outcomes: Outcomes) -> None:
        self.known = known
        self.outcomes = outcomes

    def plan(self, rows: Sequence[oc.OdooRow], keyed_ids: Mapping[int, UUID] | None) -> list[Plan]:
        """The plans of the rows kept, a parent in the file before its children."""
        plans, file_xids = self._targets(rows, keyed_ids)
        names: dict[str, list[Plan]] = {}
        for plan in plans.values():
            if plan.kind == "COMPANY" and plan.row.values.get("name"):
                names.setdefault(plan.row.values["name"].casefold(), []).append(plan)
        for plan in list(plans.values()):
            if not self._resolve_parent(plan, file_xids, names):
                del plans[plan.row.line]
        by_target = {p.target: p for p in plans.values()}
        for plan in plans.values():
            plan.parent_plan = by_target.get(plan.parent) if plan.parent else None
        return self._parents_first(plans)

    def _targets(
        self, rows: Sequence[oc.OdooRow], keyed_ids: Mapping[int, UUID] | None
    ) -> tuple[dict[int, Plan], dict[str, Plan]]:
        """The plans by line, and by external id: one row per partner."""
        plans: dict[int, Plan] = {}
        file_xids: dict[str, Plan] = {}
        claimed: dict[UUID, int] = {}
        for row in rows:
            if row.rejected:
                self.outcomes.reject_row(row, row.rejected)
                continue
            plan = self._target(row, keyed_ids, claimed)
            if plan is None:
                continue
            if row.xid:
                if row.xid in file_xids:
                    first = file_xids[row.xid].row.line
                    self.outcomes.reject(
                        row, "id", f"external id '{row.xid}' is also on row {first}"
                    )
                    continue
                file_xids[row.xid] = plan
            claimed[plan.target] = row.line
            plans[row.line] = plan
        return plans, file_xids

    def _target(
        self, row: oc.OdooRow, keyed_ids: Mapping[int, UUID] | None, claimed: dict[UUID, int]
    ) -> Plan | None:
        known: KnownPartner | None = None
        new_id: UUID
        xid = row.xid
        own_id = oc.partner_id_of_xid(xid) if xid else None
        if own_id is not None:
            known, new_id = self.known.by_id.get(own_id), own_id
        elif xid:
            known, new_id = self.known.by_xid.get(xid), uuid5(EXTERNAL_ID_NAMESPACE, xid)
        elif keyed_ids is not None and row.line in keyed_ids:
            new_id = keyed_ids[row.line]
            known = self.known.by_id.get(new_id)  # a repeat: what the first run created
        else:
            new_id = uuid4()
        if known is None:
            found = self._match(row, xid if own_id is None else None)
            if found is False:
                return None
            known = found if isinstance(found, KnownPartner) else None
        target = known.id if known else new_id
        if target in claimed:
            self.outcomes.reject(row, "id", f"row {claimed[target]} already imports this partner")
            return None
        kind = row.kind or (known.kind if known else "PERSON")
        if known is not None and known.kind != kind:
            self.outcomes.reject(
                row,
                "is_company",
                f"the registered partner is a {known.kind.lower()}; a partner's kind cannot change",
            )
            return None
        return Plan(row, target, known, kind)

    def _match(self, row: oc.OdooRow, xid: str | None) -> KnownPartner | bool | None:
        """The one partner with the row's ref, else VAT, else email; False: rejected."""
        keys: list[tuple[str, str, str | None]] = [("ref", "ref", row.values.get("ref"))]
        vat = row.values.get("vat")
        if vat:
            try:
                vat = cf.normalize_vat(vat, row.values.get("country_code"))
            except cf.FieldInvalid:
                vat = None
        keys.append(("vat", "vat", vat))
        email = row.values.get("email")
        keys.append(("email", "email", email.lower() if email else None))
        for key, column, value in keys:
            if not value:
                continue
            candidates = [
                p
                for p in self.known.by_key[key].get(value, [])
                if p.state.external_id in (None, xid)
            ]
            if len(candidates) == 1:
                return candidates[0]
            if len(candidates) > 1:
                self.outcomes.reject(
                    row,
                    column,
                    f"{len(candidates)} partners have this {key}: cannot tell which to update",
                )
                return False
        return None

    def _resolve_parent(
        self, plan: Plan, file_xids: dict[str, Plan], names: dict[str, list[Plan]]
    ) -> bool:
        row = plan.row
        if not row.parent_given:
            if plan.known is not None:
                parent = plan.known.state.parent_id
                plan.parent = UUID(parent) if parent else None
            return True
        plan.parent_given = True
        if row.parent_xid:
            xid = row.parent_xid
            own = oc.partner_id_of_xid(xid)
            if xid in file_xids:
                plan.parent = file_xids[xid].target
            elif own is not None and own in self.known.by_id:
                plan.parent = own
            elif xid in self.known.by_xid:
                plan.parent = self.known.by_xid[xid].id
            else:
                self.outcomes.reject(row, "parent_id/id", f"unknown parent '{xid}'")
                return False
        elif row.parent_name:
            key = row.parent_name.casefold()
            in_file = [p.target for p in names.get(key, [])]
            known = [p.id for p in self.known.by_company_name.get(key, []) if p.id not in in_file]
            found = in_file + known
            if len(found) != 1:
                why = "unknown parent" if not found else f"{len(found)} companies are named"
                self.outcomes.reject(row, "parent_id", f"{why} '{row.parent_name}'")
                return False
            plan.parent = found[0]
        if plan.parent == plan.target:
            self.outcomes.reject(row, "parent_id", "a partner cannot be its own parent")
            return False
        return True

    def _parents_first(self, plans: dict[int, Plan]) -> list[Plan]:
        """Rows ordered so that a parent in the file comes before its children; rows in a
        cycle are rejected."""
        ordered: list[Plan] = []
        state: dict[UUID, int] = {}  # 1 visiting, 2 done
        for start in plans.values():
            chain: list[Plan] = []
            current: Plan | None = start
            while current is not None and state.get(current.target) is None:
                state[current.target] = 1
                chain.append(current)
                current = current.parent_plan
            if current is not None and state.get(current.target) == 1:
                for plan in chain:
                    self.outcomes.reject(plan.row, "parent_id", "the parents form a cycle")
                    state[plan.target] = 2
                continue
            for plan in reversed(chain):
                state[plan.target] = 2
                ordered.append(plan)
        return ordered
