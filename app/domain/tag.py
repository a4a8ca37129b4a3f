"""Tags: named, coloured labels in a hierarchy ("Region / EMEA") put on partners."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from app.domain.archiving import Archivable, WasArchived, WasRestored
from app.domain.audited import Audit, AuditedCreated
from app.domain.changes import AttributesChanged, trigger_if_any
from app.domain.errors import DomainError, ErrorCode, archived, invalid_hierarchy
from app.domain.messages import Message

MAX_COLOR = 11
MAX_NAME = 100


def normalize_tag_values(values: Mapping[str, Any]) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    for field, value in values.items():
        if field == "name":
            name = value.strip() if isinstance(value, str) else ""
            if not name or len(name) > MAX_NAME or "/" in name:
                raise DomainError.single(
                    ErrorCode.VALIDATION,
                    Message(
                        "a tag name is 1 to %(max_name)s characters, without '/'", max_name=MAX_NAME
                    ),
                    "name",
                )
            clean["name"] = name
        elif field == "color":
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_COLOR:
                raise DomainError.single(
                    ErrorCode.VALIDATION,
                    Message("color is a number from 0 to %(max_color)s", max_color=MAX_COLOR),
                    "color",
                )
            clean["color"] = value
        elif field == "parent_id":
            clean["parent_id"] = None if value is None else str(UUID(str(value)))
        else:
            raise DomainError.single(
                ErrorCode.VALIDATION, Message("unknown field %(field)s", field=field), field
            )
    return clean


def name_key(parent_id: str | None, name: str) -> str:
    """What must be unique: a name (case-insensitively) among one parent's children."""
    return f"tag:{parent_id or '-'}:{name.casefold()}"


class Tag(Archivable, Aggregate):
    class Registered(AuditedCreated):
        name: str
        color: int
        parent_id: str | None

    class Updated(AttributesChanged):
        """Renamed, recoloured or moved."""

    class Archived(WasArchived):
        """The tag was archived."""

    class Restored(WasRestored):
        """The tag was restored from the archive."""

    def __init__(self, name: str, color: int, parent_id: str | None) -> None:
        self.name = name
        self.color = color
        self.parent_id = parent_id
        self.archived = False

    @classmethod
    def register(
        cls,
        *,
        tag_id: UUID,
        values: Mapping[str, Any],
        audit: Audit,
        parent: Tag | None,
    ) -> Tag:
        clean = normalize_tag_values(
            {"color": 0, **{k: v for k, v in values.items() if v is not None}}
        )
        if "name" not in clean:
            raise DomainError.single(ErrorCode.VALIDATION, "a tag needs a name", "name")
        if clean.get("parent_id") is not None:
            _check_parent(tag_id, parent, ())
        return cls._create(
            cls.Registered,
            id=tag_id,
            name=clean["name"],
            color=clean["color"],
            parent_id=clean.get("parent_id"),
            **audit.as_event_fields(),
        )

    def update(
        self,
        changes: Mapping[str, Any],
        audit: Audit,
        *,
        parent: Tag | None = None,
        parent_ancestry: Iterable[UUID] = (),
    ) -> bool:
        if self.archived:
            raise archived("the tag is archived: restore it before changing it", "id")
        clean = normalize_tag_values(changes)
        if clean.get("color", 0) is None:
            raise DomainError.single(ErrorCode.VALIDATION, "color cannot be cleared", "color")
        if "parent_id" in clean and clean["parent_id"] is not None:
            _check_parent(self.id, parent, parent_ancestry)
        diff = {k: v for k, v in clean.items() if getattr(self, k) != v}
        return trigger_if_any(self, self.Updated, audit, changes=diff)


def _check_parent(tag_id: UUID, parent: Tag | None, ancestry: Iterable[UUID]) -> None:
    if parent is None:
        raise DomainError.single(ErrorCode.NOT_FOUND, "the parent tag does not exist", "parentId")
    if parent.id == tag_id or tag_id in set(ancestry):
        raise invalid_hierarchy("this parent would make a cycle of tags", "parentId")
    if parent.archived:
        raise archived("the parent tag is archived", "parentId")
