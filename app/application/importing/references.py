"""The tags and catalog entries (industries, salespersons) an import's rows name: found by
name among those registered, or created and saved with the batch of the first row that
names them (a tag another writer saved under that name since the look-ups were read is
found by its name's reservation). An archived one is not assigned."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from app.application.base import CommandBase
from app.application.importing.known import ImportLookups, KnownEntry
from app.application.importing.report import Outcomes
from app.application.importing.saving import Batches
from app.domain import odoo_columns as oc
from app.domain.audited import Audit
from app.domain.catalog import CatalogEntry
from app.domain.errors import DomainError
from app.domain.reservation import Reservation, reservation_id
from app.domain.tag import Tag, name_key


class ReferencesByName:
    """Tags and catalog entries by name, those this import creates included."""

    def __init__(
        self,
        app: CommandBase,
        audit: Audit,
        lookups: ImportLookups,
        batches: Batches,
        outcomes: Outcomes,
    ) -> None:
        self.app = app
        self.audit = audit
        self.batches = batches
        self.outcomes = outcomes
        self.tags = {
            name_key(str(t.parent_id) if t.parent_id else None, t.name): t for t in lookups.tags
        }
        self.catalogs = {
            "INDUSTRY": {e.name.casefold(): e for e in lookups.industries},
            "SALESPERSON": {e.name.casefold(): e for e in lookups.salespersons},
        }
        self.new_tags: dict[UUID, Tag] = {}
        batches.lost.append(self._forget)

    def _forget(self, aggregates: Sequence[Aggregate]) -> None:
        """The tags and entries of a batch that was not saved: no later row is given
        their ids (one that names them creates them again, and meets what got in the
        way: the writer that saved that name first)."""
        lost = {a.id for a in aggregates if isinstance(a, Tag | CatalogEntry)}
        if not lost:
            return
        self.new_tags = {i: t for i, t in self.new_tags.items() if i not in lost}
        self.tags = {k: e for k, e in self.tags.items() if e.id not in lost}
        for catalog, entries in self.catalogs.items():
            self.catalogs[catalog] = {k: e for k, e in entries.items() if e.id not in lost}

    def tag(self, row: oc.OdooRow, path: list[str]) -> UUID | None:
        """The tag at the end of `path` (["Region", "EMEA"]), creating what is missing."""
        report = self.outcomes.report
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
                    self.outcomes.warn(row, "category_id", f"tag '{name}' ignored: {error}")
                    return None
                try:
                    claims = self.app._claims(tag.id, [key], ())
                except DomainError:
                    known = self._saved_meanwhile(key)
                    if known is None:
                        raise
                else:
                    self.new_tags[tag.id] = tag
                    self.batches.add(tag, *claims)
                    known = KnownEntry(tag.id, name, False, parent)
                    report.new_tags.append(" / ".join(path[: path.index(name) + 1]))
                self.tags[key] = known
            if known.archived:
                self.outcomes.warn(row, "category_id", f"tag '{name}' is archived: not assigned")
                return None
            parent = known.id
        return parent

    def _saved_meanwhile(self, key: str) -> KnownEntry | None:
        """The tag that holds the name `key` (name_key) now, when it is not in the
        look-ups: another writer saved it since they were read (another import of the
        same names, sent at the same time)."""
        held = self.app._find(reservation_id(key), Reservation)
        owner = held.owner_id if held is not None else None
        tag = self.app._find(UUID(owner), Tag) if owner else None
        if tag is None:
            return None
        parent = UUID(tag.parent_id) if tag.parent_id else None
        return KnownEntry(tag.id, tag.name, tag.archived, parent)

    def _tag_aggregate(self, tag_id: UUID | None) -> Tag | None:
        if tag_id is None:
            return None
        return self.new_tags.get(tag_id) or self.app._find(tag_id, Tag)

    def entry(self, row: oc.OdooRow, catalog: str, column: str, name: str | None) -> str | None:
        """The id of the entry of `catalog` (INDUSTRY, SALESPERSON) named `name`."""
        if not name:
            return None
        entries = self.catalogs[catalog]
        known = entries.get(name.casefold())
        if known is None:
            entry = CatalogEntry.register(
                entry_id=uuid4(), catalog=catalog, values={"name": name}, audit=self.audit
            )
            self.batches.add(entry)
            known = KnownEntry(entry.id, name, False)
            entries[name.casefold()] = known
            report = self.outcomes.report
            new = report.new_industries if catalog == "INDUSTRY" else report.new_salespersons
            new.append(name)
        elif known.archived:
            self.outcomes.warn(row, column, f"'{name}' is archived: not assigned")
            return None
        return str(known.id)
