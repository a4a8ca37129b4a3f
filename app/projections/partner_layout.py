"""How the `partners` and `partner_tags` tables are laid out: the columns of a partner's
own values (`OWN_COLUMNS`) beside its resolved ones, and their indexes."""

from __future__ import annotations

from psycopg.sql import SQL, Composable, Composed, Identifier

from app.domain import partner_fields, resolution

OWN_COLUMNS: dict[str, str] = {
    **{field: field for field in partner_fields.FIELDS if field != "tag_ids"},
    "name": "own_name",
    **{f: f"own_{f}" for f in partner_fields.ADDRESS_FIELDS},
    **{f: f for f in partner_fields.TERM_REFERENCES},
}
"""Domain field -> column holding the partner's own value."""

UUID_FIELDS = {*partner_fields.REFERENCE_FIELDS, *partner_fields.TERM_REFERENCES}
ADDRESS_COLUMNS = resolution.INHERITED_ADDRESS

REGISTER_COLUMNS = [*OWN_COLUMNS.values(), "credit_limit_amount", "credit_limit_currency"]
"""The own columns a new row fills (after its id, kind, version, times and position)."""
REGISTER_FIELDS = list(OWN_COLUMNS)
"""The domain field of each own column of a new row, in `REGISTER_COLUMNS`' order."""
FLAG_INDEXES = [i for i, f in enumerate(REGISTER_FIELDS) if f in partner_fields.FLAG_FIELDS]
"""Where the flags are among `REGISTER_FIELDS` (never NULL in the table)."""


def create_statements(t: Identifier, tags: Identifier, name: str) -> list[Composed]:
    """The tables `t` (named `name`) and `tags`, with what applying events looks up."""

    def column(field: str, col: str) -> Composable:
        if field in partner_fields.FLAG_FIELDS:
            kind = "boolean NOT NULL DEFAULT false"
        else:
            kind = "uuid" if field in UUID_FIELDS else "text"
        return SQL("{} {}").format(Identifier(col), SQL(kind))

    own = SQL(", ").join(column(f, c) for f, c in OWN_COLUMNS.items())
    effective = SQL(", ").join(
        SQL("{} text").format(Identifier(col))
        for col in (*ADDRESS_COLUMNS, "name", "display_name", "effective_vat")
    )
    return [
        SQL(
            "CREATE TABLE IF NOT EXISTS {t} ("
            "id uuid PRIMARY KEY, kind text NOT NULL, {own}, {effective}, "
            "credit_limit_amount numeric, credit_limit_currency text, "
            "email_normalized text, commercial_partner_id uuid, address_from_id uuid, "
            "effective_industry_id uuid, effective_salesperson_id uuid, "
            "search_text text, phone_digits text, name_key text, display_name_key text, "
            "archived boolean NOT NULL DEFAULT false, "
            "anonymized boolean NOT NULL DEFAULT false, version integer NOT NULL, "
            "created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL, "
            "position bigint NOT NULL)"
        ).format(t=t, own=own, effective=effective),
        # Tables made before partners had an external id (issue 10) gain the column.
        SQL("ALTER TABLE {t} ADD COLUMN IF NOT EXISTS external_id text").format(t=t),
        SQL("ALTER TABLE {t} ADD COLUMN IF NOT EXISTS merged_into uuid").format(t=t),
        # Overdue invoices and credit (app/projections/partner_standing.py); a table made
        # before them shows none until `partnerbook projections rebuild`.
        *(
            SQL("ALTER TABLE {t} ADD COLUMN IF NOT EXISTS {}").format(SQL(column), t=t)
            for column in (
                "invoices_overdue_from timestamptz",
                "overdue_from timestamptz",
                "credit_exceeded boolean NOT NULL DEFAULT false",
            )
        ),
        # Applying events looks children up by their parent (resolving them again).
        # Columns mostly empty are indexed where they hold a value (as here): a NULL entry
        # costs an index insertion for every new row and answers no `= value` query.
        SQL("CREATE INDEX IF NOT EXISTS {} ON {t} (parent_id) WHERE parent_id IS NOT NULL").format(
            Identifier(f"{name}_parent"), t=t
        ),
        SQL(
            "CREATE TABLE IF NOT EXISTS {pt} (partner_id uuid NOT NULL, tag_id uuid NOT NULL, "
            "PRIMARY KEY (partner_id, tag_id))"
        ).format(pt=tags),
    ]


QUERY_INDEXES = (
    ("commercial", "commercial_partner_id"),
    ("name", "name_key, id"),
    ("display_name", "display_name_key, id"),
    ("created", "created_at, id"),
    ("updated", "updated_at, id"),
    # A country's partners by name (P4's page: a country and a role, ordered by name)
    # walk this index from the first name of the country; with `(country_code, id)` they
    # walked the name index past every other country's partners (2.6 against 0.07 ms for
    # Belgium's customers at 100,000 partners). Equality on the country alone uses it too.
    ("country_name", "country_code, name_key, id"),
    ("email", "email_normalized"),
    ("search", "search_text gin_trgm_ops"),
    ("phone", "phone_digits gin_trgm_ops"),
    ("external_id", "external_id"),
    ("industry", "effective_industry_id"),
    ("salesperson", "effective_salesperson_id"),
)
"""Index name suffix -> what it indexes, for the queries of app/queries."""
SPARSE = {"external_id": "external_id IS NOT NULL"}
"""Of those, the ones on a column mostly empty: indexed where it holds a value."""


def query_index_statements(
    t: Identifier, tags: Identifier, name: str, tags_name: str, *, schema: str
) -> list[Composed]:
    """The indexes only queries use (the tables `t` and `tags` of `schema`, named `name`
    and `tags_name`)."""
    return [
        # What `country_name` replaced: tables made before it lose it.
        SQL("DROP INDEX IF EXISTS {}").format(Identifier(schema, f"{name}_country")),
        *(
            SQL("CREATE INDEX IF NOT EXISTS {} ON {t} {using} ({}){where}").format(
                Identifier(f"{name}_{suffix}"),
                SQL(expr),
                t=t,
                using=SQL("USING gin" if "gin_trgm_ops" in expr else ""),
                where=SQL(f" WHERE {SPARSE[suffix]}" if suffix in SPARSE else ""),
            )
            for suffix, expr in QUERY_INDEXES
        ),
        SQL("CREATE INDEX IF NOT EXISTS {} ON {pt} (tag_id, partner_id)").format(
            Identifier(f"{tags_name}_tag"), pt=tags
        ),
        # creditExceeded sums the exposure of the commercial partners with a credit limit
        # only (app/queries/credit_queries.py, LIMITED).
        SQL(
            "CREATE INDEX IF NOT EXISTS {} ON {t} (id) "
            "WHERE credit_limit_amount IS NOT NULL AND commercial_partner_id = id"
        ).format(Identifier(f"{name}_credit_limited"), t=t),
        # hasOverdueInvoices, creditExceeded: the few partners that have them; and a
        # commercial partner's earliest overdue instant among its contacts'.
        *(
            SQL("CREATE INDEX IF NOT EXISTS {} ON {t} ({}) WHERE {}").format(
                Identifier(f"{name}_{suffix}"), SQL(columns), SQL(where), t=t
            )
            for suffix, columns, where in (
                ("overdue_from", "overdue_from", "overdue_from IS NOT NULL"),
                ("credit_exceeded", "name_key, id", "credit_exceeded"),
                (
                    "invoices_overdue_from",
                    "commercial_partner_id, invoices_overdue_from",
                    "invoices_overdue_from IS NOT NULL",
                ),
            )
        ),
        *merge_indexes(t, name),
    ]


def merge_indexes(t: Identifier, name: str) -> list[Composed]:
    """What merging and duplicate detection look up: `merged_into`, VAT, phone, mobile
    and the trigrams of the name."""
    return [
        SQL("CREATE INDEX IF NOT EXISTS {} ON {t} {}").format(
            Identifier(f"{name}_{suffix}"), SQL(expr), t=t
        )
        for suffix, expr in (
            ("vat", "(vat) WHERE vat IS NOT NULL"),
            ("phone_e164", "(phone) WHERE phone IS NOT NULL"),
            ("mobile_e164", "(mobile) WHERE mobile IS NOT NULL"),
            ("name_trgm", "USING gin (name_key gin_trgm_ops)"),
            ("merged_into", "(merged_into) WHERE merged_into IS NOT NULL"),
        )
    ]
