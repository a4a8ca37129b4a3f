"""Bulk import of partners (issue 10): plans rows read from an Odoo-layout file against
what the registry holds, and saves them in batches of many aggregates per transaction,
with the same domain rules as createPartner/updatePartner. Returns an outcome per row.

Matching (upsert) order: external id, then reference, then VAT, then normalised email.
A fallback match (ref/VAT/email) must be unique and must not carry another external id.
A new partner with an external id gets a deterministic id (uuid5 of the external id), so
two imports racing on the same external id cannot both create it."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from app.application.base import CommandBase
from app.domain import contact_fields as cf
from app.domain import odoo_columns as oc
from app.domain.audited import Audit
from app.domain.catalog import CatalogEntry
from app.domain.errors import DomainError, ErrorCode
from app.domain.partner import Partner
from app.domain.partner_fields import ADDRESS_FIELDS, COMMERCIAL_FIELDS
from app.domain.partner_state import PartnerState
from app.domain.partner_values import normalize_values
from app.domain.tag import Tag, name_key

_E164 = re.compile(r"\+[1-9]\d{6,14}")
"""What the phone library makes of a number it understood (others are kept as typed)."""
EXTERNAL_ID_NAMESPACE = uuid5(NAMESPACE_URL, "https://partnerbook.dev/external-id")
MAX_BATCH = 400
"""New partners per transaction at most: larger saves hang in psycopg (docs/scaling.md)."""
AHEAD_MIN_ROWS = 2_000
"""With worker processes, files from this many rows have their emails and phones checked
ahead in the workers (smaller ones are checked in process: a pool costs more)."""
AHEAD_CHUNK = 500
"""Rows per task sent to a worker."""


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


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[oc.Problem] = field(default_factory=list)
    warnings: list[oc.Problem] = field(default_factory=list)
    partner_ids: dict[int, UUID] = field(default_factory=dict)
    """Line -> partner id of the rows created, updated or unchanged."""
    outcomes: dict[int, str] = field(default_factory=dict)
    """Line -> CREATED, UPDATED, UNCHANGED or REJECTED."""
    new_tags: list[str] = field(default_factory=list)
    new_industries: list[str] = field(default_factory=list)
    new_salespersons: list[str] = field(default_factory=list)
    position: int | None = None
    """Notification id of the last event recorded; None when nothing was recorded."""


@dataclass
class _Plan:
    row: oc.OdooRow
    target: UUID
    known: KnownPartner | None
    kind: str
    parent: UUID | None = None
    parent_given: bool = False
    clean: dict[str, Any] = field(default_factory=dict)
    """The values it will have (for its children's checks)."""


Progress = Callable[[int], None]


class ImportCommands(CommandBase):
    def import_partners(
        self,
        rows: Sequence[oc.OdooRow],
        lookups: ImportLookups,
        audit: Audit,
        *,
        dry_run: bool = False,
        batch_size: int = MAX_BATCH,
        progress: Progress | None = None,
        idempotency_key: str | None = None,
        workers: int = 0,
    ) -> ImportReport:
        """`workers` > 0: so many processes check the emails and phone numbers of a big
        file ahead (the slowest checks: email-validator, phonenumbers) while this one
        plans and saves; the answers are those the domain would compute (same functions),
        so the outcome is the same as without."""
        run = _ImportRun(self, lookups, audit, dry_run, batch_size, progress)
        rows = list(rows)
        if workers <= 0 or len(rows) < AHEAD_MIN_ROWS:
            return run.execute(rows, idempotency_key)
        with _CheckAhead(rows, workers) as ahead:
            run.ahead = ahead
            return run.execute(rows, idempotency_key)


class _CheckAhead:
    """The emails and phones of the rows, sent in chunks (file order) to a process pool;
    a row's answers are taken in (cf.remember) before the row is applied. Phones are
    checked with the row's country, else its parent's in the file (the region the domain
    will most likely use: when it uses another, that phone is simply checked again)."""

    def __init__(self, rows: list[oc.OdooRow], workers: int) -> None:
        countries = {
            row.xid: row.values.get("country_code") for row in rows if row.xid and not row.rejected
        }
        chunks: list[list[cf.Checked]] = []
        self.chunk_of: dict[int, int] = {}
        for start in range(0, len(rows), AHEAD_CHUNK):
            items: list[cf.Checked] = []
            for row in rows[start : start + AHEAD_CHUNK]:
                self.chunk_of[row.line] = len(chunks)
                if row.rejected:
                    continue
                email = row.values.get("email")
                if isinstance(email, str) and email:
                    items.append(("email", email, None))
                given = row.values.get("country_code") or (
                    countries.get(row.parent_xid) if row.parent_xid else None
                )
                region = given.strip().upper() if isinstance(given, str) and given else None
                for name in ("phone", "mobile"):
                    phone = row.values.get(name)
                    if isinstance(phone, str) and phone:
                        items.append(("phone", phone, region))
            chunks.append(items)
        self.items = [item for items in chunks for item in items]
        self.pool = ProcessPoolExecutor(max_workers=workers)
        self.futures: list[Future[list[tuple[cf.Checked, tuple[bool, str]]]] | None] = [
            self.pool.submit(cf.check_ahead, items) for items in chunks
        ]

    def __enter__(self) -> _CheckAhead:
        return self

    def __exit__(self, *_: object) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
        cf.forget(self.items)

    def wait_for(self, line: int) -> None:
        """Takes in the answers of the chunk holding this row (and of chunks done since)."""
        index = self.chunk_of.get(line)
        if index is None or self.futures[index] is None:
            return
        for i in range(index + 1):
            future = self.futures[i]
            if future is not None and (i == index or future.done()):
                self.futures[i] = None
                # A broken worker: these rows are simply checked in process.
                with contextlib.suppress(Exception):
                    cf.remember(future.result())


class _ImportRun:
    def __init__(
        self,
        app: ImportCommands,
        lookups: ImportLookups,
        audit: Audit,
        dry_run: bool,
        batch_size: int,
        progress: Progress | None,
    ) -> None:
        self.app = app
        self.audit = audit
        self.dry_run = dry_run
        self.batch_size = max(1, min(batch_size, MAX_BATCH))
        self.progress = progress
        self.report = ImportReport()
        self.by_id = {p.id: p for p in lookups.partners}
        self.by_xid: dict[str, KnownPartner] = {}
        self.by_key: dict[str, dict[str, list[KnownPartner]]] = {"ref": {}, "vat": {}, "email": {}}
        self.by_name: dict[str, list[KnownPartner]] = {}
        for p in lookups.partners:
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
                self.by_name.setdefault(state.name.casefold(), []).append(p)
        self.tags = {
            name_key(str(t.parent_id) if t.parent_id else None, t.name): t for t in lookups.tags
        }
        self.catalogs = {
            "INDUSTRY": {e.name.casefold(): e for e in lookups.industries},
            "SALESPERSON": {e.name.casefold(): e for e in lookups.salespersons},
        }
        self.aggregates: dict[UUID, Partner] = {}
        self.new_tags: dict[UUID, Tag] = {}
        self.to_archive: list[Partner] = []
        self.pending: list[Aggregate] = []
        self.pending_rows: list[tuple[int, str, UUID]] = []
        self.done = 0
        self.ahead: _CheckAhead | None = None

    # -- planning ---------------------------------------------------------------------

    def execute(self, rows: list[oc.OdooRow], idempotency_key: str | None) -> ImportReport:
        plans: dict[int, _Plan] = {}
        file_xids: dict[str, _Plan] = {}
        claimed: dict[UUID, int] = {}
        for row in rows:
            if row.rejected:
                self._reject_row(row, row.rejected)
                continue
            plan = self._target(row, idempotency_key, claimed)
            if plan is None:
                continue
            if row.xid:
                if row.xid in file_xids:
                    first = file_xids[row.xid].row.line
                    self._reject(row, "id", f"external id '{row.xid}' is also on row {first}")
                    continue
                file_xids[row.xid] = plan
            claimed[plan.target] = row.line
            plans[row.line] = plan
        names: dict[str, list[_Plan]] = {}
        for plan in plans.values():
            if plan.kind == "COMPANY" and plan.row.values.get("name"):
                names.setdefault(plan.row.values["name"].casefold(), []).append(plan)
        for plan in list(plans.values()):
            if not self._resolve_parent(plan, file_xids, names):
                del plans[plan.row.line]
        by_target = {p.target: p for p in plans.values()}
        for plan in self._parents_first(plans):
            self._apply(plan, by_target)
        self._flush()
        for partner in self.to_archive:
            if partner.archive(self.audit):
                self.pending.append(partner)
        self._flush()
        return self.report

    def _target(
        self, row: oc.OdooRow, idempotency_key: str | None, claimed: dict[UUID, int]
    ) -> _Plan | None:
        known: KnownPartner | None = None
        new_id: UUID
        xid = row.xid
        own_id = oc.partner_id_of_xid(xid) if xid else None
        if own_id is not None:
            known, new_id = self.by_id.get(own_id), own_id
        elif xid:
            known, new_id = self.by_xid.get(xid), uuid5(EXTERNAL_ID_NAMESPACE, xid)
        elif idempotency_key:
            new_id = uuid5(EXTERNAL_ID_NAMESPACE, f"{idempotency_key}:{row.line}")
        else:
            new_id = uuid4()
        if known is None:
            found = self._match(row, xid if own_id is None else None)
            if found is False:
                return None
            known = found if isinstance(found, KnownPartner) else None
        target = known.id if known else new_id
        if target in claimed:
            self._reject(row, "id", f"row {claimed[target]} already imports this partner")
            return None
        kind = row.kind or (known.kind if known else "PERSON")
        if known is not None and known.kind != kind:
            self._reject(
                row,
                "is_company",
                f"the registered partner is a {known.kind.lower()}; a partner's kind cannot change",
            )
            return None
        return _Plan(row, target, known, kind)

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
                p for p in self.by_key[key].get(value, []) if p.state.external_id in (None, xid)
            ]
            if len(candidates) == 1:
                return candidates[0]
            if len(candidates) > 1:
                self._reject(
                    row,
                    column,
                    f"{len(candidates)} partners have this {key}: cannot tell which to update",
                )
                return False
        return None

    def _resolve_parent(
        self, plan: _Plan, file_xids: dict[str, _Plan], names: dict[str, list[_Plan]]
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
            elif own is not None and own in self.by_id:
                plan.parent = own
            elif xid in self.by_xid:
                plan.parent = self.by_xid[xid].id
            else:
                self._reject(row, "parent_id/id", f"unknown parent '{xid}'")
                return False
        elif row.parent_name:
            key = row.parent_name.casefold()
            in_file = [p.target for p in names.get(key, [])]
            known = [p.id for p in self.by_name.get(key, []) if p.id not in in_file]
            found = in_file + known
            if len(found) != 1:
                why = "unknown parent" if not found else f"{len(found)} companies are named"
                self._reject(row, "parent_id", f"{why} '{row.parent_name}'")
                return False
            plan.parent = found[0]
        if plan.parent == plan.target:
            self._reject(row, "parent_id", "a partner cannot be its own parent")
            return False
        return True

    def _parents_first(self, plans: dict[int, _Plan]) -> list[_Plan]:
        """Rows ordered so that a parent in the file comes before its children; rows in a
        cycle are rejected."""
        by_target = {p.target: p for p in plans.values()}
        ordered: list[_Plan] = []
        state: dict[UUID, int] = {}  # 1 visiting, 2 done
        for start in plans.values():
            chain: list[_Plan] = []
            current: _Plan | None = start
            while current is not None and state.get(current.target) is None:
                state[current.target] = 1
                chain.append(current)
                current = by_target.get(current.parent) if current.parent else None
            if current is not None and state.get(current.target) == 1:
                for plan in chain:
                    self._reject(plan.row, "parent_id", "the parents form a cycle")
                    state[plan.target] = 2
                continue
            for plan in reversed(chain):
                state[plan.target] = 2
                ordered.append(plan)
        return ordered

    # -- applying ---------------------------------------------------------------------

    def _apply(self, plan: _Plan, by_target: dict[UUID, _Plan]) -> None:
        row = plan.row
        if self.ahead is not None:
            self.ahead.wait_for(row.line)
        self.report.warnings += row.warnings
        row.warnings = []
        parent_plan = by_target.get(plan.parent) if plan.parent else None
        if parent_plan is not None and self.report.outcomes.get(parent_plan.row.line) in (
            "REJECTED",
        ):
            self._reject(row, "parent_id", f"its parent (row {parent_plan.row.line}) is rejected")
            return
        try:
            patch = self._patch(plan, parent_plan)
            if plan.known is None:
                self._create(plan, patch)
            else:
                self._update(plan, patch)
        except DomainError as error:
            self._reject_row(
                row, [oc.Problem(row.line, oc.column_of(e.field), e.message) for e in error.errors]
            )

    def _patch(self, plan: _Plan, parent_plan: _Plan | None) -> dict[str, Any]:
        row = plan.row
        patch = dict(row.values)
        if row.xid and oc.partner_id_of_xid(row.xid) is None:
            patch["external_id"] = row.xid
        if plan.parent_given:
            patch["parent_id"] = str(plan.parent) if plan.parent else None
        if row.tags is not None or row.tag_ids:
            patch["tag_ids"] = sorted(
                {str(t) for t in row.tag_ids}
                | {str(t) for path in row.tags or () if (t := self._tag(row, path))}
            )
        if row.has_industry:
            patch["industry_id"] = self._entry(row, "INDUSTRY", "industry_id", row.industry)
        if row.has_salesperson:
            patch["salesperson_id"] = self._entry(row, "SALESPERSON", "user_id", row.salesperson)
        for name, column in (("lang", "lang"), ("tz", "tz")):
            if patch.get(name):
                try:
                    patch[name] = (cf.normalize_lang if name == "lang" else cf.normalize_tz)(
                        patch[name]
                    )
                except cf.FieldInvalid as error:
                    self._warn(row, column, f"{error}: left empty")
                    patch[name] = None
        if plan.kind == "PERSON" and plan.parent is not None:
            self._drop_inherited(plan, patch, parent_plan)
        return patch

    def _drop_inherited(
        self, plan: _Plan, patch: dict[str, Any], parent_plan: _Plan | None
    ) -> None:
        """A contact of a company takes VAT and industry from it, and (a contact address)
        its address: values repeated from the company, as Odoo exports them, are dropped;
        different ones are reported."""
        parent_values: dict[str, Any] = {}
        if parent_plan is not None:
            parent_values = parent_plan.clean or parent_plan.row.values
        elif plan.parent in self.by_id:
            parent_values = self.by_id[plan.parent].values
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
                self._warn(
                    plan.row,
                    column,
                    f"'{value}' ignored: a contact of a company uses the company's {column}",
                )

    def _create(self, plan: _Plan, patch: dict[str, Any]) -> None:
        parent = self._parent_aggregate(plan.parent) if plan.parent else None
        partner = Partner.register(
            partner_id=plan.target,
            kind=plan.kind,
            values=patch,
            audit=self.audit,
            parent=parent,
        )
        if plan.row.active is False:  # at the end: its contacts may be active
            self.to_archive.append(partner)
        plan.clean = dict(partner.values)
        self.aggregates[partner.id] = partner
        self._phone_warnings(plan.row, partner.values)
        self._stage(plan, "CREATED", [partner])

    def _update(self, plan: _Plan, patch: dict[str, Any]) -> None:
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
            self._count(plan.row.line, "UNCHANGED", plan.target)
            return
        partner = self._app_find(plan.target)
        if partner.archived and (diff or not archive):
            partner.restore(self.audit)
        if diff:
            parent: Partner | None = None
            ancestry: list[UUID] = []
            if merged.get("parent_id"):
                if merged.get("parent_id") != known.state.parent_id and plan.parent in (self.by_id):
                    parent, ancestry = self.app._parent_and_ancestry(plan.parent)
                else:
                    parent = self._parent_aggregate(plan.parent)
            partner.update(patch, self.audit, parent=parent, parent_ancestry=ancestry)
        if archive:
            partner.archive(self.audit)
        self._phone_warnings(plan.row, clean)
        self.aggregates[partner.id] = partner
        self._stage(plan, "UPDATED", [partner])

    def _values_of(self, partner_id: UUID | None) -> dict[str, Any]:
        if partner_id is None:
            return {}
        if partner_id in self.aggregates:
            return self.aggregates[partner_id].values
        known = self.by_id.get(partner_id)
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
                self._warn(row, name, f"'{value}' is not a valid phone number: kept as typed")

    # -- tags and catalog entries --------------------------------------------------------

    def _tag(self, row: oc.OdooRow, path: list[str]) -> UUID | None:
        parent: UUID | None = None
        for name in path:
            key = name_key(str(parent) if parent else None, name)
            known = self.tags.get(key)
            if known is None:
                try:
                    tag = Tag.register(
                        tag_id=uuid4(),
                        values={"name": name, "parent_id": str(parent) if parent else None},
                        audit=self.audit,
                        parent=self._tag_aggregate(parent),
                    )
                except DomainError as error:
                    self._warn(row, "category_id", f"tag '{name}' ignored: {error}")
                    return None
                self.new_tags[tag.id] = tag
                claims = self.app._claims(tag.id, [key], ())
                self.pending += [tag, *claims]
                known = KnownEntry(tag.id, name, False, parent)
                self.tags[key] = known
                self.report.new_tags.append(" / ".join(path[: path.index(name) + 1]))
            elif known.archived:
                self._warn(row, "category_id", f"tag '{name}' is archived: not assigned")
                return None
            parent = known.id
        return parent

    def _tag_aggregate(self, tag_id: UUID | None) -> Tag | None:
        if tag_id is None:
            return None
        return self.new_tags.get(tag_id) or self.app._find(tag_id, Tag)

    def _entry(self, row: oc.OdooRow, catalog: str, column: str, name: str | None) -> str | None:
        if not name:
            return None
        entries = self.catalogs[catalog]
        known = entries.get(name.casefold())
        if known is None:
            entry = CatalogEntry.register(
                entry_id=uuid4(), catalog=catalog, values={"name": name}, audit=self.audit
            )
            self.pending.append(entry)
            known = KnownEntry(entry.id, name, False)
            entries[name.casefold()] = known
            new = self.report.new_industries if catalog == "INDUSTRY" else None
            (new if new is not None else self.report.new_salespersons).append(name)
        elif known.archived:
            self._warn(row, column, f"'{name}' is archived: not assigned")
            return None
        return str(known.id)

    # -- saving -----------------------------------------------------------------------

    def _stage(self, plan: _Plan, outcome: str, aggregates: list[Aggregate]) -> None:
        self.pending += aggregates
        self.pending_rows.append((plan.row.line, outcome, plan.target))
        if len(self.pending_rows) >= self.batch_size:
            self._flush()

    def _flush(self) -> None:
        if not self.pending_rows and not self.pending:
            return
        rows, aggregates = self.pending_rows, self.pending
        self.pending_rows, self.pending = [], []
        if not self.dry_run and aggregates:
            try:
                recordings = self.app.save(*aggregates)
            except IntegrityError:
                if not rows:
                    raise
                for line, _, _ in rows:
                    self.report.rejected.append(
                        oc.Problem(
                            line,
                            "id",
                            "another writer changed these partners at the same time: "
                            "run the import again",
                        )
                    )
                    self.report.outcomes[line] = "REJECTED"
                self._tick(len(rows))
                return
            if recordings:
                self.report.position = recordings[-1].notification.id
        for line, outcome, target in rows:
            self._count(line, outcome, target, tick=False)
        self._tick(len(rows))

    def _count(self, line: int, outcome: str, target: UUID, *, tick: bool = True) -> None:
        self.report.outcomes[line] = outcome
        self.report.partner_ids[line] = target
        if outcome == "CREATED":
            self.report.created += 1
        elif outcome == "UPDATED":
            self.report.updated += 1
        else:
            self.report.unchanged += 1
        if tick:
            self._tick(1)

    def _tick(self, count: int) -> None:
        self.done += count
        if self.progress is not None:
            self.progress(count)

    def _reject(self, row: oc.OdooRow, column: str, message: str) -> None:
        self._reject_row(row, [oc.Problem(row.line, column, message)])

    def _reject_row(self, row: oc.OdooRow, problems: list[oc.Problem]) -> None:
        self.report.rejected += problems
        self.report.outcomes[row.line] = "REJECTED"
        self.report.warnings += row.warnings
        row.warnings = []
        self._tick(1)

    def _warn(self, row: oc.OdooRow, column: str, message: str) -> None:
        self.report.warnings.append(oc.Problem(row.line, column, message))


def _same(name: str, value: Any, theirs: Any, country: str | None) -> bool:
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
