"""Commands on the catalogs and on tags."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from app.application.base import CommandBase, CommandResult
from app.domain.audited import Audit
from app.domain.catalog import CatalogEntry
from app.domain.errors import not_found
from app.domain.hierarchy import TAGS
from app.domain.tag import Tag, name_key


class CatalogCommands(CommandBase):
    """Catalog entries (with unique account codes) and tags (unique among siblings)."""

    def create_catalog_entry(
        self,
        catalog: str,
        values: Mapping[str, Any],
        audit: Audit,
        idempotency_key: str | None = None,
    ) -> CommandResult:
        def register(entry_id: UUID) -> list[Aggregate]:
            entry = CatalogEntry.register(
                entry_id=entry_id, catalog=catalog, values=values, audit=audit
            )
            return [entry, *self._claims(entry_id, unique_keys_of_entry(entry), ())]

        request = {"catalog": catalog, "values": values}
        kind = f"catalog:{catalog}"
        return self._create(kind, CatalogEntry, idempotency_key, request, register)

    def update_catalog_entry(
        self,
        entry_id: UUID,
        catalog: str,
        changes: Mapping[str, Any],
        audit: Audit,
        expected_version: int | None = None,
    ) -> CommandResult:
        def change(entry: CatalogEntry) -> Sequence[Aggregate]:
            check_in_catalog(entry, catalog)
            before = unique_keys_of_entry(entry)
            if not entry.update(changes, audit):
                return []
            return [entry, *self._claims(entry.id, unique_keys_of_entry(entry), before)]

        return self._change(CatalogEntry, entry_id, expected_version, change)

    def archive_catalog_entry(
        self, entry_id: UUID, catalog: str, audit: Audit, expected_version: int | None = None
    ) -> CommandResult:
        def archive(entry: CatalogEntry) -> bool:
            check_in_catalog(entry, catalog)
            return entry.archive(audit)

        return self._update(CatalogEntry, entry_id, expected_version, archive)

    def restore_catalog_entry(
        self, entry_id: UUID, catalog: str, audit: Audit, expected_version: int | None = None
    ) -> CommandResult:
        def restore(entry: CatalogEntry) -> bool:
            check_in_catalog(entry, catalog)
            return entry.restore(audit)

        return self._update(CatalogEntry, entry_id, expected_version, restore)

    # -- tags ---------------------------------------------------------------------------

    def create_tag(
        self, values: Mapping[str, Any], audit: Audit, idempotency_key: str | None = None
    ) -> CommandResult:
        def register(tag_id: UUID) -> list[Aggregate]:
            parent_id = values.get("parent_id")
            parent = self._find(UUID(str(parent_id)), Tag) if parent_id else None
            tag = Tag.register(tag_id=tag_id, values=values, audit=audit, parent=parent)
            return [tag, *self._claims(tag_id, [name_key(tag.parent_id, tag.name)], ())]

        return self._create("tag", Tag, idempotency_key, {"values": values}, register)

    def update_tag(
        self,
        tag_id: UUID,
        changes: Mapping[str, Any],
        audit: Audit,
        expected_version: int | None = None,
    ) -> CommandResult:
        def change(tag: Tag) -> Sequence[Aggregate]:
            before = [name_key(tag.parent_id, tag.name)]
            parent: Tag | None = None
            ancestry: list[UUID] = []
            new_parent = changes.get("parent_id")
            # A move may close a cycle with another made at the same time: saved with
            # the hierarchy's guard, loaded before the ancestry is read.
            moves = bool(new_parent) and str(new_parent) != tag.parent_id
            guard = self._hierarchy_guard(TAGS) if moves else None
            if new_parent:
                parent = self._find(UUID(str(new_parent)), Tag)
                ancestry = self._tag_ancestry(parent) if parent else []
            if not tag.update(changes, audit, parent=parent, parent_ancestry=ancestry):
                return []
            if guard is not None:
                guard.record_move()
            claims = self._claims(tag.id, [name_key(tag.parent_id, tag.name)], before)
            return [tag, *claims, *([guard] if guard is not None else [])]

        return self._change(Tag, tag_id, expected_version, change)

    def archive_tag(
        self, tag_id: UUID, audit: Audit, expected_version: int | None = None
    ) -> CommandResult:
        return self._update(Tag, tag_id, expected_version, lambda t: t.archive(audit))

    def restore_tag(
        self, tag_id: UUID, audit: Audit, expected_version: int | None = None
    ) -> CommandResult:
        return self._update(Tag, tag_id, expected_version, lambda t: t.restore(audit))


def check_in_catalog(entry: CatalogEntry, catalog: str) -> None:
    if entry.catalog != catalog:
        raise not_found("no such entry in this catalog", "id")


def unique_keys_of_entry(entry: CatalogEntry) -> list[str]:
    if entry.catalog == "ACCOUNT" and entry.values.get("code"):
        return [f"account-code:{str(entry.values['code']).casefold()}"]
    return []
