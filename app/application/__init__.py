"""The write side: one method per command; each returns ids, version and the position
of its last recorded event (None when the command changed nothing)."""

from __future__ import annotations

from typing import Any, ClassVar

from app.application.affiliations import AffiliationCommands
from app.application.api_keys import ApiKeyCommands
from app.application.base import CommandResult
from app.application.bulk_edit import BulkEditCommands
from app.application.catalogs import CatalogCommands
from app.application.erasure import ErasureCommands
from app.application.importing.command import ImportCommands
from app.application.merging import MergeCommands
from app.application.notes import NoteCommands
from app.application.partners import PartnerCommands
from app.application.relationship import RelationshipCommands
from app.application.segments import SegmentCommands
from app.application.webhooks import WebhookCommands
from app.domain.activity import Activity
from app.domain.audited import Audit
from app.domain.errors import DomainError
from app.domain.hierarchy import HierarchyGuard
from app.domain.partner import Partner


class Partnerbook(
    ErasureCommands,
    PartnerCommands,
    CatalogCommands,
    RelationshipCommands,
    SegmentCommands,
    WebhookCommands,
    MergeCommands,
    ImportCommands,
    AffiliationCommands,
    ApiKeyCommands,
    BulkEditCommands,
    NoteCommands,
):
    """The event-sourced application: aggregates in, events out, one transaction a command."""

    name = "partnerbook"
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {
        Partner: 100,
        Activity: 100,
        HierarchyGuard: 100,  # one a hierarchy, an event a move (app/domain/hierarchy.py)
    }


__all__ = ["Audit", "CommandResult", "DomainError", "Partnerbook"]
