"""Commands on partners: register, change, terms, tags, archive."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from app.application.base import CommandResult
from app.application.terms import TermCommands
from app.domain.audited import Audit
from app.domain.hierarchy import PARTNERS
from app.domain.partner import Partner
from app.domain.partner_fields import ACCOUNT_TYPE_OF_TERM, TERM_REFERENCES


class PartnerCommands(TermCommands):
    """Partners and their hierarchy, commercial terms and tags."""

    def create_partner(
        self,
        kind: str,
        values: Mapping[str, Any],
        audit: Audit,
        idempotency_key: str | None = None,
    ) -> CommandResult:
        def register(partner_id: UUID) -> list[Aggregate]:
            parent_id = values.get("parent_id")
            parent, ancestry = self._parent_and_ancestry(parent_id) if parent_id else (None, [])
            self._check_partner_references(values)
            partner = Partner.register(
                partner_id=partner_id,
                kind=kind,
                values=values,
                audit=audit,
                parent=parent,
                parent_ancestry=ancestry,
            )
            return [partner]

        request = {"kind": kind, "values": values}
        return self._create("partner", Partner, idempotency_key, request, register)

    def update_partner(
        self,
        partner_id: UUID,
        changes: Mapping[str, Any],
        audit: Audit,
        expected_version: int | None = None,
    ) -> CommandResult:
        def update(partner: Partner) -> list[Aggregate]:
            # A company given another parent may close a cycle with a move made at the
            # same time: saved with the hierarchy's guard, loaded before the ancestry.
            guard = self._hierarchy_guard(PARTNERS) if _moves_company(partner, changes) else None
            parent_id = changes.get("parent_id", partner.parent_id)
            parent, ancestry = self._parent_and_ancestry(parent_id) if parent_id else (None, [])
            new = partner.changed(changes)
            if new.get("tag_ids"):  # tags it already has may be archived: they stay
                new["tag_ids"] = [t for t in new["tag_ids"] if str(t) not in partner.tag_ids]
            self._check_partner_references(new)
            if partner.update(changes, audit, parent=parent, parent_ancestry=ancestry) is False:
                return []
            if guard is None:
                return [partner]
            guard.record_move()
            return [partner, guard]

        return self._change(Partner, partner_id, expected_version, update)

    def set_commercial_terms(
        self,
        partner_id: UUID,
        changes: Mapping[str, Any],
        audit: Audit,
        expected_version: int | None = None,
    ) -> CommandResult:
        def set_terms(partner: Partner) -> bool:
            new = partner.changed(changes)
            self._check_catalog_references(
                {k: (v, TERM_REFERENCES[k]) for k, v in new.items() if k in TERM_REFERENCES}
            )
            self._check_account_types(
                {
                    k: (v, ACCOUNT_TYPE_OF_TERM[k])
                    for k, v in new.items()
                    if k in ACCOUNT_TYPE_OF_TERM
                }
            )
            return partner.set_commercial_terms(changes, audit)

        return self._update(Partner, partner_id, expected_version, set_terms)

    def add_partner_tags(
        self,
        partner_id: UUID,
        tag_ids: Iterable[UUID],
        audit: Audit,
        expected_version: int | None = None,
    ) -> CommandResult:
        ids = list(tag_ids)

        def add(partner: Partner) -> bool:
            self._check_tags([t for t in ids if str(t) not in partner.tag_ids])
            return partner.add_tags(ids, audit)

        return self._update(Partner, partner_id, expected_version, add)

    def remove_partner_tags(
        self,
        partner_id: UUID,
        tag_ids: Iterable[UUID],
        audit: Audit,
        expected_version: int | None = None,
    ) -> CommandResult:
        ids = list(tag_ids)
        return self._update(
            Partner, partner_id, expected_version, lambda p: p.remove_tags(ids, audit)
        )

    def archive_partner(
        self, partner_id: UUID, audit: Audit, expected_version: int | None = None
    ) -> CommandResult:
        return self._update(Partner, partner_id, expected_version, lambda p: p.archive(audit))

    def restore_partner(
        self, partner_id: UUID, audit: Audit, expected_version: int | None = None
    ) -> CommandResult:
        return self._update(Partner, partner_id, expected_version, lambda p: p.restore(audit))


def _moves_company(partner: Partner, changes: Mapping[str, Any]) -> bool:
    """Whether `changes` give a company another parent (only companies have records
    under them: a person moved cannot close a cycle)."""
    new_parent = changes.get("parent_id")
    if partner.kind != "COMPANY" or new_parent is None:
        return False
    return str(new_parent) != str(partner.parent_id)
