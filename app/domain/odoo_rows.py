"""A row of an Odoo contacts export as the import reads it, and what it says about a row
that it refuses or warns about."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from app.domain.messages import Message


@dataclass(frozen=True)
class Problem:
    """A rejection or a warning about one row: its line in the file (1 = header), the
    column and why."""

    row: int
    column: str
    message: str


@dataclass
class OdooRow:
    line: int
    xid: str | None = None
    kind: str | None = None
    """COMPANY or PERSON; None when the file has no is_company/company_type column."""
    values: dict[str, Any] = field(default_factory=dict)
    """Domain fields given by the row (None clears); only columns present in the file."""
    parent_xid: str | None = None
    parent_name: str | None = None
    parent_given: bool = False
    """The row has a parent column (empty: no parent)."""
    tags: list[list[str]] | None = None
    """Tag paths by name (["Region", "EMEA"] for "Region / EMEA"); None: column absent."""
    tag_ids: list[UUID] = field(default_factory=list)
    """Tags named by Partnerbook external ids."""
    industry: str | None = None
    salesperson: str | None = None
    has_industry: bool = False
    has_salesperson: bool = False
    active: bool | None = None
    rejected: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    def refuse(self, in_column: str, message: str, **params: Any) -> None:
        self.rejected.append(Problem(self.line, in_column, Message(message, **params)))

    def warn_about(self, in_column: str, message: str, **params: Any) -> None:
        self.warnings.append(Problem(self.line, in_column, Message(message, **params)))
