"""The resolution of app/domain/resolution.py in SQL: statements that compute a partner
row's effective values (display name, commercial partner, the company's address on its
contacts, the commercial partner's VAT, industry and salesperson, sort and search keys)
from what is stored, so that one statement resolves many rows;
tests/projections/test_resolution_equivalence.py proves both give the same rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import LiteralString

from psycopg.sql import SQL, Composable, Identifier, Literal

from app.domain import partner_fields, resolution
from app.domain.contact_fields import NO_VAT
from app.projections.partner_layout import ADDRESS_COLUMNS, OWN_COLUMNS

_LABEL = SQL("CASE c.type {} END").format(
    SQL(" ").join(
        SQL("WHEN {} THEN {}").format(Literal(k), Literal(v))
        for k, v in partner_fields.TYPE_LABELS.items()
        if k != "CONTACT"
    )
)
# The rules of app/domain/resolution.py over stored rows: `c` is the partner's row, `p`
# its parent's (NULL columns when it has none, or the parent is not projected yet).
_NAME = SQL("COALESCE(c.own_name, {})").format(_LABEL)
_DISPLAY_NAME = SQL(
    "CASE WHEN c.kind = 'PERSON' AND p.id IS NOT NULL THEN p.name || ', ' || {name} ELSE {name} END"
).format(name=_NAME)
_INHERITS_ADDRESS = SQL("(c.kind = 'PERSON' AND c.type = 'CONTACT' AND p.id IS NOT NULL)")
_COMMERCIAL = SQL("(c.kind = 'COMPANY' OR p.id IS NULL)")
# `effective_vat` as computed below (the SET list reads the row as it was).
_EFFECTIVE_VAT = SQL("CASE WHEN {} THEN c.vat ELSE p.effective_vat END").format(_COMMERCIAL)

_WHITE = r"\t\n\v\f\r\u001c-\u001f \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
SPACES = f"[{_WHITE}]{{2,}}|[{_WHITE.replace(' ', '')}]"
"""What becomes one space: a run of white space, or one that is not a plain space.
Python's `str.isspace` characters, listed: `[[:space:]]` depends on the locale (no
no-break space in C.UTF-8) and costs several µs a row where this costs under one."""


def searchable(text: Composable) -> Composable:
    """`text` as text search compares it: lower-cased, without accents, each run of
    spaces one space. The stored search text and the search itself
    (app/queries/partners/filters.py, search_term) both go through it."""
    return SQL("regexp_replace(lower(unaccent({})), {}, ' ', 'g')").format(text, Literal(SPACES))


RESOLVED_COLUMNS: list[tuple[str, Composable]] = [
    ("name", _NAME),
    ("display_name", _DISPLAY_NAME),
    (
        "commercial_partner_id",
        SQL("CASE WHEN {com} THEN c.id ELSE p.commercial_partner_id END").format(com=_COMMERCIAL),
    ),
    (
        "address_from_id",
        SQL("CASE WHEN {i} THEN p.address_from_id ELSE c.id END").format(i=_INHERITS_ADDRESS),
    ),
    ("email_normalized", SQL("lower(c.email)")),
    # Sort keys: alphabetical as people read it, accents aside (é with e) and runs of
    # spaces as one (`searchable`, as the search compares names: RELEVANCE's first rank
    # is a name_key that starts with the search).
    ("name_key", searchable(_NAME)),
    ("display_name_key", searchable(_DISPLAY_NAME)),
    # What text search looks in (`searchable`): names (the company's too, as in the
    # display name), email, reference and the VAT that applies (`/` is none); and the
    # digits of the phone numbers.
    (
        "search_text",
        searchable(
            SQL(
                "concat_ws(' ', {name}, CASE WHEN c.kind = 'PERSON' THEN p.name END, "
                "c.email, c.ref, NULLIF({vat}, {no_vat}))"
            ).format(name=_NAME, vat=_EFFECTIVE_VAT, no_vat=Literal(NO_VAT))
        ),
    ),
    ("phone_digits", SQL("regexp_replace(concat_ws(' ', c.phone, c.mobile), '[^0-9]', '', 'g')")),
    *(
        (
            e,
            SQL("CASE WHEN {com} THEN c.{own} ELSE p.{e} END").format(
                e=Identifier(e), own=Identifier(OWN_COLUMNS[own]), com=_COMMERCIAL
            ),
        )
        for e, own in resolution.FROM_COMMERCIAL.items()
    ),
    *(
        (
            e,
            SQL("COALESCE(c.{own}, CASE WHEN {com} THEN NULL ELSE p.{e} END)").format(
                e=Identifier(e), own=Identifier(OWN_COLUMNS[own]), com=_COMMERCIAL
            ),
        )
        for e, own in resolution.OWN_ELSE_COMMERCIAL.items()
    ),
    *(
        (
            col,
            SQL("CASE WHEN {i} THEN p.{col} ELSE c.{own} END").format(
                col=Identifier(col), own=Identifier(f"own_{col}"), i=_INHERITS_ADDRESS
            ),
        )
        for col in ADDRESS_COLUMNS
    ),
]
"""Every effective column and how it follows from `c` and `p`."""
RESOLVED = SQL(", ").join(
    SQL("{} = {}").format(Identifier(col), expr) for col, expr in RESOLVED_COLUMNS
)
"""The SET list of a resolution: every effective column from `c` and `p`."""


@dataclass(frozen=True)
class Resolving:
    """The statements that resolve rows of one partners table, each rendered to text
    once: psycopg would otherwise render these large statements again for every event
    (a third of a rebuild). Each takes one parameter."""

    one: str
    """The partner of this id."""
    children: str
    """The children of the partner of this id."""
    commercial_among: str
    """Of these ids, the companies and the partners on their own: first, since a
    contact's resolved values are read from its (already resolved) company."""
    contacts_among: str
    """Of these ids, the contacts of companies."""
    children_of_any: str
    """The children of these companies: those whose inherited values changed, and new
    ones (a child saved with its company can be projected before it)."""

    @classmethod
    def of(cls, t: Identifier) -> Resolving:
        # The SET list reads the row's own values as `c` and its parent's as `p`: the
        # target joins itself, so one statement resolves a row from what is stored.
        resolve_from = SQL(
            "UPDATE {t} AS target SET {resolved} FROM {t} AS c LEFT JOIN {t} AS p "
            "ON p.id = c.parent_id WHERE target.id = c.id AND "
        ).format(t=t, resolved=RESOLVED)

        def where(condition: LiteralString) -> str:
            return (resolve_from + SQL(condition)).as_string(None)

        return cls(
            one=where("c.id = %s"),
            children=where("c.parent_id = %s"),
            commercial_among=where(
                "c.id = ANY(%s) AND (c.kind = 'COMPANY' OR c.parent_id IS NULL)"
            ),
            contacts_among=where(
                "c.id = ANY(%s) AND c.kind = 'PERSON' AND c.parent_id IS NOT NULL"
            ),
            # Every child, as `children` does (batches and single events then give the
            # same rows).
            children_of_any=where("c.parent_id = ANY(%s)"),
        )


@dataclass(frozen=True)
class StagedInserts:
    """New partners written once, resolved as they go in: their own values are staged
    (`stage`, a temporary table holding `columns`), then two INSERT … SELECT statements
    add them to the table with every effective column computed, the companies and the
    partners on their own first, the contacts of companies then (they read their
    company's resolved row). Inserting them unresolved and resolving them with UPDATEs
    wrote each row two or three times, each time into every index (issue 19)."""

    commercial: str
    contacts: str

    @classmethod
    def of(cls, t: Identifier, stage: Identifier, columns: list[str]) -> StagedInserts:
        names = SQL(", ").join(Identifier(c) for c in [*columns, *(c for c, _ in RESOLVED_COLUMNS)])
        values = SQL(", ").join(
            [
                *(SQL("c.{}").format(Identifier(c)) for c in columns),
                *(expr for _, expr in RESOLVED_COLUMNS),
            ]
        )
        insert = SQL(
            "INSERT INTO {t} ({names}) SELECT {values} FROM {stage} AS c "
            "LEFT JOIN {t} AS p ON p.id = c.parent_id WHERE "
        ).format(t=t, names=names, values=values, stage=stage)
        return cls(
            commercial=(insert + SQL("(c.kind = 'COMPANY' OR c.parent_id IS NULL)")).as_string(
                None
            ),
            # Every other row (never lost, whatever its kind).
            contacts=(insert + SQL("NOT (c.kind = 'COMPANY' OR c.parent_id IS NULL)")).as_string(
                None
            ),
        )
