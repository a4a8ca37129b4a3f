"""Text about an erased person that reaches the read models after its erasure is blanked
in the same batch. Two ways lead there: a record about the person saved between
`Anonymized` and the deletion of its key (`ErasureCommands.anonymize_partner` does the two
in turn), sealed with the key still there and read by a projector that had it; and the
records an undone merge moves back to a person erased meanwhile. In the log both are
sealed with the erased key, so a rebuild reads their text as null: blanking them live
keeps the two the same."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol
from uuid import UUID

from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from app.domain.activity import Activity
from app.domain.affiliation import Affiliation
from app.domain.bank_account import BankAccount
from app.domain.document import Document
from app.domain.erasure import ERASED_TEXT
from app.domain.note import Note
from app.domain.opportunity import Opportunity

RECORD_EVENTS = (
    Activity.Event,
    Opportunity.Event,
    Document.Event,
    Affiliation.Event,
    BankAccount.Event,
    Note.Event,
)
"""Events of the records whose text is about a partner (and sealed with its key)."""


def carried(event: Any, columns: Sequence[str], required: Sequence[str] = ()) -> dict[str, Any]:
    """The text a record's move carried (app/domain/moved.py), for the columns that show
    it: what a rebuild, reading the text written before the move as null once the key it
    was sealed with is erased, takes from the move; the same as the live row holds. A
    carried value read as None was erased (the partner it moved to was): the column is
    blanked (`required` ones, which cannot be null, read `(erased)`)."""
    found = getattr(event, "carried", None) or {}
    texts = {c: found[c] for c in columns if c in found}
    return {c: ERASED_TEXT if v is None and c in required else v for c, v in texts.items()}


class Erases(Protocol):
    """A table that blanks what it holds about an erased person (on `Anonymized`)."""

    def erase(self, curs: Cursor[DictRow], partner_id: UUID) -> None: ...


class ErasingLate:
    def __init__(
        self, partners: Identifier, records: Sequence[Identifier], tables: Sequence[Erases]
    ) -> None:
        """`records`: the tables of the records (each row with its `partner_id`);
        `tables`: those that blank what they hold about an erased person."""
        self.tables = tables
        owners = SQL(" UNION ALL ").join(
            SQL("SELECT partner_id FROM {} WHERE id = ANY(%(ids)s)").format(t) for t in records
        )
        self._erased_owners = (
            SQL(
                "SELECT DISTINCT p.id FROM ({owners}) AS r(partner_id) "
                "JOIN {p} p ON p.id = r.partner_id WHERE p.anonymized ORDER BY p.id"
            )
            .format(owners=owners, p=partners)
            .as_string(None)
        )

    def sweep(self, curs: Cursor[DictRow], items: Sequence[tuple[Any, int]]) -> None:
        """After a batch: the records it touched that belong to an erased person (by the
        read model, the batch applied) are blanked with everything about that person."""
        ids = [e.originator_id for e, _ in items if isinstance(e, RECORD_EVENTS)]
        if not ids:
            return
        erased = [row["id"] for row in curs.execute(self._erased_owners, {"ids": ids})]
        for partner_id in erased:
            for table in self.tables:
                table.erase(curs, partner_id)
