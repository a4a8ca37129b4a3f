"""An import's planned rows turned into events, with the rules of createPartner and
updatePartner: the row's values as a patch (tags and catalog entries resolved, what a
contact takes from its company dropped), then a new partner registered or the
registered one updated, archived or restored.

A registered company given another parent may close a cycle with a move made at the same
time (updatePartner, another import): as updatePartner's, its move is saved with the
hierarchy's guard (app/domain/hierarchy.py), loaded before the ancestry is read, in a
save of its own (after the rows before it, its new parent may be among them), tried again
when another move was saved first. Rows that move no company load no guard."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from app.application.base import MAX_HIERARCHY_DEPTH, MAX_RETRIES, CommandBase
from app.application.importing.check_ahead import CheckAhead
from app.application.importing.keyed import KeyedRows
from app.application.importing.known import KnownPartners
from app.application.importing.planning import Plan
from app.application.importing.references import ReferencesByName
from app.application.importing.report import Outcomes
from app.application.importing.saving import Batches
from app.domain import contact_fields as cf
from app.domain import odoo_columns as oc
from app.domain.audited import Audit
from app.domain.errors import DomainError, ErrorCode, conflict
from app.domain.hierarchy import PARTNERS, HierarchyGuard
from app.domain.partner import Partner
from app.domain.partner_fields import ADDRESS_FIELDS, COMMERCIAL_FIELDS
from app.domain.partner_values import normalize_values

_E164 = re.compile(r"\+[1-9]\d{6,14}")
"""What the phone library makes of a number it understood (others are kept as typed)."""


class RowApplier:
    """Applies plans in order (parents first); the aggregates go to `batches`, a row that
    breaks a rule is rejected in `outcomes`."""

    def __init__(
        self,
        app: CommandBase,
        audit: Audit,
        known: KnownPartners,
        references: ReferencesByName,
        batches: Batches,
        outcomes: Outcomes,
        keyed: KeyedRows | None = None,
    ) -> None:
        self.app = app
        self.audit = audit
        self.known = known
        self.references = references
        self.batches = batches
        self.outcomes = outcomes
        self.keyed = keyed
        self.ahead: CheckAhead | None = None
        self.aggregates: dict[UUID, Partner] = {}
        self.to_archive: list[tuple[int, Partner]] = []
        """Partners created inactive, with their rows: archived at the end (their contacts
        may be active)."""
        batches.lost.append(self._forget)

    def _forget(self, aggregates: Sequence[Aggregate]) -> None:
        """The partners of a batch that was not saved: loaded again when a later row
        needs them (these hold events that were not recorded)."""
        for aggregate in aggregates:
            self.aggregates.pop(aggregate.id, None)

    def apply(self, plan: Plan) -> None:
        row = plan.row
        if self.ahead is not None:
            self.ahead.wait_for(row.line)
        self.outcomes.take_warnings(row)
        moving = _moves_company(plan) and not self.batches.dry_run
        if moving:
            self.batches.flush()  # the rows before it first: its new parent may be among them
        parent = plan.parent_plan
        if parent is not None and self.outcomes.report.outcomes.get(parent.row.line) == "REJECTED":
            self.outcomes.reject(
                row, "parent_id", f"its parent (row {parent.row.line}) is rejected"
            )
            return
        if moving:
            self._apply_move(plan)
        else:
            self._apply(plan)

    def _apply(self, plan: Plan, guard: HierarchyGuard | None = None) -> bool:
        """Applies the row; False when it is rejected."""
        row = plan.row
        try:
            patch = self._patch(plan)
            if plan.known is None:
                self._create(plan, patch)
            else:
                self._update(plan, patch, guard)
        except DomainError as error:
            self.outcomes.reject_row(
                row, [oc.Problem(row.line, oc.column_of(e.field), e.message) for e in error.errors]
            )
            return False
        return True

    def _apply_move(self, plan: Plan) -> None:
        """A registered company given another parent, saved on its own (the rows before
        it are) with the guard, loaded before the ancestry is read. Another move saved
        first: checked again against the hierarchy it left (INVALID_HIERARCHY for this
        row only), as updatePartner; the partner itself changed: rejected, as a batch
        that met another writer."""
        for _ in range(MAX_RETRIES):
            mark = self.outcomes.mark()
            guard = self.app._hierarchy_guard(PARTNERS)
            self.aggregates.pop(plan.target, None)
            latest = self.aggregates[plan.target] = self._app_find(plan.target)
            version = latest.version
            if not self._apply(plan, guard) or self.batches.flush(again=True):
                return
            self.outcomes.undo(mark)
            now = self.app._find(plan.target, Partner)
            if now is None or now.version != version:
                break
        self.outcomes.reject(
            plan.row,
            "id",
            "another writer changed these partners at the same time: run the import again",
        )

    def archive_inactive(self) -> None:
        """Archives the partners created inactive, saved together: those this run saved
        (a batch not saved, or saved by another run, has nothing to archive). One changed
        since (its id was known beforehand: an external id's, a key's) is archived again
        from its latest version, as bulk edits retry."""
        created = self.outcomes.report.outcomes
        archived = [
            (line, partner)
            for line, partner in self.to_archive
            if created.get(line) == "CREATED" and partner.archive(self.audit)
        ]
        self.batches.add(*(partner for _, partner in archived))
        if self.batches.flush(again=True):
            return
        report = self.outcomes.report
        for line, partner in archived:
            try:
                result = self.app._update(
                    Partner, partner.id, None, lambda p: p.archive(self.audit)
                )
            except DomainError as error:
                report.warnings.append(oc.Problem(line, "active", str(error)))  # not archived
                continue
            if result.position is not None:
                report.position = max(report.position or 0, result.position)

    def _patch(self, plan: Plan) -> dict[str, Any]:
        row = plan.row
        patch = dict(row.values)
        if row.xid and oc.partner_id_of_xid(row.xid) is None:
            patch["external_id"] = row.xid
        if plan.parent_given:
            patch["parent_id"] = str(plan.parent) if plan.parent else None
        if row.tags is not None or row.tag_ids:
            patch["tag_ids"] = sorted(
                {str(t) for t in row.tag_ids}
                | {str(t) for path in row.tags or () if (t := self.references.tag(row, path))}
            )
        if row.has_industry:
            patch["industry_id"] = self.references.entry(
                row, "INDUSTRY", "industry_id", row.industry
            )
        if row.has_salesperson:
            patch["salesperson_id"] = self.references.entry(
                row, "SALESPERSON", "user_id", row.salesperson
            )
        for name, column in (("lang", "lang"), ("tz", "tz")):
            if patch.get(name):
                try:
                    patch[name] = (cf.normalize_lang if name == "lang" else cf.normalize_tz)(
                        patch[name]
                    )
                except cf.FieldInvalid as error:
                    self.outcomes.warn(row, column, f"{error}: left empty")
                    patch[name] = None
        if plan.kind == "PERSON" and plan.parent is not None:
            self._drop_inherited(plan, patch)
        return patch

    def _drop_inherited(self, plan: Plan, patch: dict[str, Any]) -> None:
        """A contact of a company takes VAT and industry from it, and (a contact address)
        its address: values repeated from the company, as Odoo exports them, are dropped;
        different ones are reported."""
        parent_values: dict[str, Any] = {}
        if plan.parent_plan is not None:
            parent_values = plan.parent_plan.clean or plan.parent_plan.row.values
        elif plan.parent in self.known.by_id:
            parent_values = self.known.by_id[plan.parent].values
        kind_type = patch.get("type") or (plan.known.state.type if plan.known else None)
        fields = list(COMMERCIAL_FIELDS)
        if (kind_type or "CONTACT") == "CONTACT":
            fields += ADDRESS_FIELDS
        for name in fields:
            if name not in patch:
                continue
            value = patch.pop(name)
            theirs = parent_values.get(name)
            if value and not _same(name, value, theirs, parent_values.get("country_code")):
                column = oc.column_of((name,))
                self.outcomes.warn(
                    plan.row,
                    column,
                    f"'{value}' ignored: a contact of a company uses the company's {column}",
                )

    def _create(self, plan: Plan, patch: dict[str, Any]) -> None:
        parent = self._parent_aggregate(plan.parent) if plan.parent else None
        partner = Partner.register(
            partner_id=plan.target,
            kind=plan.kind,
            values=patch,
            audit=self.audit,
            parent=parent,
        )
        if plan.row.active is False:
            self.to_archive.append((plan.row.line, partner))
        plan.clean = dict(partner.values)
        self.aggregates[partner.id] = partner
        self._phone_warnings(plan.row, partner.values)
        records = self.keyed.records(plan.row.line, plan.target) if self.keyed else []
        self.batches.stage(plan.row.line, "CREATED", plan.target, partner, *records)

    def _update(
        self, plan: Plan, patch: dict[str, Any], guard: HierarchyGuard | None = None
    ) -> None:
        known = plan.known
        assert known is not None
        merged = known.values | patch
        region = merged.get("country_code")
        if not region and plan.parent:
            region = self._values_of(plan.parent).get("country_code")
        clean = normalize_values(patch, region=region, country=known.state.country_code)
        plan.clean = known.values | clean
        archive = known.archived if plan.row.active is None else not plan.row.active
        diff = {k: v for k, v in clean.items() if known.values.get(k) != v}
        if not diff and archive == known.archived:
            self._phone_warnings(plan.row, clean)
            self.outcomes.count(plan.row.line, "UNCHANGED", plan.target)
            return
        partner = self._app_find(plan.target)
        moves = partner.kind == "COMPANY" and _new_parent(partner, patch)
        if moves and guard is None and not self.batches.dry_run:
            # The read model showed it under this parent: it moved since.
            raise conflict(
                "another writer changed these partners at the same time: run the import again", "id"
            )
        if partner.archived and (diff or not archive):
            partner.restore(self.audit)
        if diff:
            parent, ancestry = self._parent_and_ancestry(plan.parent, moves=moves)
            partner.update(patch, self.audit, parent=parent, parent_ancestry=ancestry)
        if archive:
            partner.archive(self.audit)
        self._phone_warnings(plan.row, clean)
        self.aggregates[partner.id] = partner
        saved: list[Aggregate] = [partner]
        if moves and guard is not None:
            guard.record_move()
            saved.append(guard)
        self.batches.stage(plan.row.line, "UPDATED", plan.target, *saved, full=guard is None)

    def _parent_and_ancestry(
        self, parent_id: UUID | None, *, moves: bool
    ) -> tuple[Partner | None, list[UUID]]:
        """The parent a row names, and the ids above it when it moves a company (to
        refuse cycles): read from the event store once the guard is loaded; a dry run's
        also see what it would have saved."""
        if parent_id is None:
            return None, []
        if not moves:
            return self._parent_aggregate(parent_id), []
        if not self.batches.dry_run:
            return self.app._parent_and_ancestry(parent_id)

        def find(partner_id: UUID) -> Partner | None:
            return self.aggregates.get(partner_id) or self.app._find(partner_id, Partner)

        parent = current = find(parent_id)
        ancestry: list[UUID] = []
        while current is not None and current.parent_id is not None:
            if len(ancestry) >= MAX_HIERARCHY_DEPTH:
                break
            ancestry.append(current.parent_id)
            current = find(current.parent_id)
        return parent, ancestry

    def _values_of(self, partner_id: UUID | None) -> dict[str, Any]:
        if partner_id is None:
            return {}
        if partner_id in self.aggregates:
            return self.aggregates[partner_id].values
        known = self.known.by_id.get(partner_id)
        return known.values if known else {}

    def _parent_aggregate(self, parent_id: UUID | None) -> Partner | None:
        if parent_id is None:
            return None
        if parent_id not in self.aggregates:
            self.aggregates[parent_id] = self._app_find(parent_id)
        return self.aggregates[parent_id]

    def _app_find(self, partner_id: UUID) -> Partner:
        partner = self.aggregates.get(partner_id) or self.app._find(partner_id, Partner)
        if partner is None:
            raise DomainError.single(
                ErrorCode.NOT_FOUND, "the partner is not in the event store", "parentId"
            )
        return partner

    def _phone_warnings(self, row: oc.OdooRow, values: dict[str, Any]) -> None:
        for name in ("phone", "mobile"):
            value = values.get(name)
            if name in row.values and value and not _E164.fullmatch(value):
                self.outcomes.warn(
                    row, name, f"'{value}' is not a valid phone number: kept as typed"
                )


def _moves_company(plan: Plan) -> bool:
    """Whether the row gives a registered company another parent, as the read model
    shows it (only companies have records under them: a person moved closes no cycle)."""
    known = plan.known
    if known is None or plan.kind != "COMPANY" or not plan.parent_given or plan.parent is None:
        return False
    return str(plan.parent) != str(known.values.get("parent_id"))


def _new_parent(partner: Partner, patch: dict[str, Any]) -> bool:
    """Whether `patch` gives `partner` (as registered) another parent, not none."""
    new = patch.get("parent_id")
    return new is not None and str(new) != str(partner.parent_id)


def _same(name: str, value: Any, theirs: Any, country: str | None) -> bool:
    """Whether a contact's value repeats its company's (VATs compared normalised)."""
    if value == theirs:
        return True
    if theirs is None:
        return False
    if name == "vat":
        try:
            return bool(cf.normalize_vat(str(value), country) == theirs)
        except cf.FieldInvalid:
            return False
    return str(value).strip().casefold() == str(theirs).strip().casefold()
