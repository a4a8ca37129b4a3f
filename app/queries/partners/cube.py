"""Counts from the partner cube (app/projections/partner_counts.py): which filters it
answers (those on its dimensions only, without a search), the condition of such a filter
over a cuboid's cells, and the smallest cuboid that has the dimensions a count needs."""

from __future__ import annotations

from dataclasses import fields

from psycopg.sql import SQL, Composable, Identifier, Literal

from app.projections.partner_counts import CUBOIDS, TAG_SET
from app.queries.partners.filters import PartnerFilter

FILTER_DIMENSIONS = {
    "kind": "kind",
    "is_customer": "is_customer",
    "is_supplier": "is_supplier",
    "archived": "archived",
    "country_code": "country_code",
    "state_code": "state_code",
    "lang": "lang",
    "industry_id": "industry_id",
    "salesperson_id": "salesperson_id",
    "tag_ids": TAG_SET,
}
"""PartnerFilter field -> the cube dimension it reads; a filter on any other field is
counted over the rows."""

_COMPOSING = ("and_", "or_", "not_")


def filter_dimensions(where: PartnerFilter | None) -> set[str] | None:
    """The dimensions a filter reads (archived always: a filter that does not mention it
    selects the partners not archived), or None when it reads anything else."""
    used = {"archived"}
    for f in _flattened(where or PartnerFilter()):
        for field in fields(f):
            if field.name in _COMPOSING or getattr(f, field.name) is None:
                continue
            dimension = FILTER_DIMENSIONS.get(field.name)
            if dimension is None:
                return None
            used.add(dimension)
    return used


def _flattened(f: PartnerFilter) -> list[PartnerFilter]:
    found = [f]
    pending = [f]
    while pending:  # iterative: a deep filter is bounded by the request's limits anyway
        current = pending.pop()
        nested = (*current.and_, *current.or_, *((current.not_,) if current.not_ else ()))
        found += nested
        pending += nested
    return found


def cuboid_for(dimensions: set[str]) -> Identifier | None:
    """The smallest cuboid that has every dimension, if one has."""
    for name, dims in CUBOIDS.items():
        if dimensions <= set(dims):
            return Identifier(f"partner_cube_{name}")
    return None


def cube_condition(where: PartnerFilter | None) -> Composable:
    """The filter over a cuboid's cells (columns named as the dimensions); the same
    three-valued logic as over the rows (app/queries/partners/filters.py)."""
    f = where or PartnerFilter()
    condition = _condition(f)
    if not f.mentions_archived():
        return SQL("({}) AND NOT archived").format(condition)
    return condition


def _condition(f: PartnerFilter) -> Composable:
    parts: list[Composable] = []
    for name, dimension in FILTER_DIMENSIONS.items():
        value = getattr(f, name)
        if value is None:
            continue
        if dimension == TAG_SET:
            parts.append(_tagged_with(value))
        else:
            parts.append(SQL("{} = {}").format(Identifier(dimension), Literal(value)))
    parts.extend(SQL("({})").format(_condition(sub)) for sub in f.and_)
    if f.or_:
        parts.append(
            SQL("({})").format(SQL(" OR ").join(SQL("({})").format(_condition(s)) for s in f.or_))
        )
    if f.not_ is not None:
        # As compile_filter: the complement, partners with the field empty included.
        parts.append(SQL("({}) IS NOT TRUE").format(_condition(f.not_)))
    return SQL(" AND ").join(parts) if parts else SQL("TRUE")


def _tagged_with(tag_ids: tuple[object, ...]) -> Composable:
    """A cell whose set of tags has any of the tags or of their descendants."""
    return SQL(
        "tag_set && coalesce((WITH RECURSIVE subtree(id) AS (SELECT id FROM tags "
        "WHERE id = ANY({ids}) UNION SELECT t.id FROM tags t JOIN subtree s "
        "ON t.parent_id = s.id) SELECT array_agg(id) FROM subtree), '{{}}')"
    ).format(ids=Literal(list(tag_ids)))


FACET_DIMENSIONS: dict[str, tuple[str, ...]] = {
    "countries": ("country_code",),
    "kinds": ("kind",),
    "roles": ("is_customer", "is_supplier"),
    "industries": ("industry_id",),
    "languages": ("lang",),
    "salespersons": ("salesperson_id",),
    "tags": (TAG_SET,),
}

# A cell may have several rows, and a value's rows may sum to zero (partners gone since
# the last compaction): a value is counted when its rows sum to more. Ids are grouped as
# ids and written as text after (sorting their text in the collation cost more).
_FACETS = {
    "countries": "SELECT country_code, sum(n) FROM {c} WHERE {w} AND country_code IS NOT NULL "
    "GROUP BY 1 HAVING sum(n) > 0",
    "kinds": "SELECT kind, sum(n) FROM {c} WHERE {w} GROUP BY 1 HAVING sum(n) > 0",
    "roles": "SELECT CASE WHEN is_customer AND is_supplier THEN 'BOTH' WHEN is_customer THEN "
    "'CUSTOMER' WHEN is_supplier THEN 'SUPPLIER' ELSE 'NONE' END, sum(n) FROM {c} WHERE {w} "
    "GROUP BY 1 HAVING sum(n) > 0",
    "industries": "SELECT v::text, n FROM (SELECT industry_id, sum(n) FROM {c} WHERE {w} AND "
    "industry_id IS NOT NULL GROUP BY 1 HAVING sum(n) > 0) AS by_id(v, n)",
    "languages": "SELECT lang, sum(n) FROM {c} WHERE {w} AND lang IS NOT NULL GROUP BY 1 "
    "HAVING sum(n) > 0",
    "salespersons": "SELECT v::text, n FROM (SELECT salesperson_id, sum(n) FROM {c} WHERE {w} "
    "AND salesperson_id IS NOT NULL GROUP BY 1 HAVING sum(n) > 0) AS by_id(v, n)",
    # A partner counts once for a tag and its sub-tags (its cell's set, by ancestor).
    "tags": "WITH RECURSIVE tree(ancestor, id) AS (SELECT id, id FROM tags UNION "
    "SELECT tree.ancestor, t.id FROM tags t JOIN tree ON t.parent_id = tree.id) "
    "SELECT v::text, n FROM (SELECT a.ancestor, sum(c.n) FROM {c} c CROSS JOIN LATERAL "
    "(SELECT DISTINCT tree.ancestor FROM unnest(c.tag_set) u(id) JOIN tree ON tree.id = u.id) a "
    "WHERE {w} GROUP BY 1 HAVING sum(c.n) > 0) AS by_id(v, n)",
}


def cube_facets(where: PartnerFilter | None) -> dict[str, Composable]:
    """Facet -> the statement counting it from the cube, for the facets the cube answers
    under this filter (none when the filter reads anything but the cube's dimensions)."""
    dimensions = filter_dimensions(where)
    if dimensions is None:
        return {}
    condition = cube_condition(where)
    found: dict[str, Composable] = {}
    for name, own in FACET_DIMENSIONS.items():
        cuboid = cuboid_for(dimensions | set(own))
        if cuboid is not None:
            found[name] = SQL(_FACETS[name]).format(c=cuboid, w=condition)
    return found


def cube_total(where: PartnerFilter | None) -> Composable | None:
    """The statement counting the partners a filter selects from the cube, if it can."""
    dimensions = filter_dimensions(where)
    cuboid = cuboid_for(dimensions) if dimensions is not None else None
    if cuboid is None:
        return None
    return SQL("SELECT coalesce(sum(n), 0) FROM {c} WHERE {w}").format(
        c=cuboid, w=cube_condition(where)
    )
