"""Duplicate candidates, and what a merge would move, read from the read model.

Score of a candidate: the reasons combine like independent pieces of evidence,
`score = 1 - Π(1 - w)` over its reasons, with w = 0.9 for the same VAT, 0.8 for the same
email, 0.6 for the same phone and 0.7 * trigram similarity for a similar name. One
reason alone scores its weight; more reasons score higher, never above 1."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from app.domain.contact_fields import NO_VAT
from app.domain.merge import MOVED_KINDS

WEIGHTS = {"SAME_VAT": 0.9, "SAME_EMAIL": 0.8, "SAME_PHONE": 0.6, "SIMILAR_NAME": 0.7}
MAX_CANDIDATES = 50
AFFILIATIONS_OWNED = (
    "SELECT o, a.id FROM affiliations a, unnest(ARRAY[a.partner_id, a.company_id]) o "
    "WHERE o = ANY(%s)"
)
"""An affiliation is its person's and its company's: a merge of either moves it."""
ACTIVITIES_OWNED = (
    "SELECT DISTINCT o, a.id FROM activities a, unnest(ARRAY[a.partner_id, a.company_id]) o "
    "WHERE o = ANY(%s)"
)
"""An activity is its partner's and the company's it names: a merge of either moves it."""

# The VAT compared is the one that applies, where it is the partner's own (its commercial
# partner's): a contact shows its company's, and keeps any own VAT hidden. `/` is none.
# An anonymized person is nobody's duplicate: every one reads "Anonymized partner".
_CANDIDATES = """
WITH me AS (
    SELECT id, kind, parent_id, email_normalized,
           CASE WHEN commercial_partner_id = id AND vat <> %(no_vat)s THEN vat END AS vat,
           CASE WHEN phone LIKE '+%%' THEN phone END AS phone,
           CASE WHEN mobile LIKE '+%%' THEN mobile END AS mobile,
           name_key, country_code
    FROM partners WHERE id = %(id)s AND NOT anonymized
), found AS (
    SELECT p.id FROM partners p, me WHERE p.email_normalized = me.email_normalized
    UNION SELECT p.id FROM partners p, me WHERE p.vat = me.vat AND p.commercial_partner_id = p.id
    UNION SELECT p.id FROM partners p, me WHERE p.phone IN (me.phone, me.mobile)
    UNION SELECT p.id FROM partners p, me WHERE p.mobile IN (me.phone, me.mobile)
    UNION SELECT p.id FROM partners p, me
          WHERE p.name_key %% me.name_key
            AND p.country_code IS NOT DISTINCT FROM me.country_code
), compared AS (
    SELECT p.id,
           p.email_normalized = me.email_normalized AS same_email,
           p.vat = me.vat AND p.commercial_partner_id = p.id AS same_vat,
           (p.phone IN (me.phone, me.mobile) OR p.mobile IN (me.phone, me.mobile)) AS same_phone,
           similarity(p.name_key, me.name_key) AS name_similarity,
           p.country_code IS NOT DISTINCT FROM me.country_code AS same_country
    FROM found JOIN partners p ON p.id = found.id, me
    WHERE p.id <> me.id AND p.kind = me.kind AND NOT p.archived AND p.merged_into IS NULL
      AND NOT p.anonymized
      AND p.id IS DISTINCT FROM me.parent_id AND p.parent_id IS DISTINCT FROM me.id
), reasoned AS (
    SELECT c.*, (c.same_country AND c.name_similarity >= %(threshold)s) AS similar_name
    FROM compared c
)
SELECT r.* FROM reasoned r
WHERE (r.same_email OR r.same_vat OR r.same_phone OR r.similar_name) IS TRUE
ORDER BY round((1::float8
    - (CASE WHEN r.same_email THEN 1::float8 - {SAME_EMAIL}::float8 ELSE 1 END)
    * (CASE WHEN r.same_vat THEN 1::float8 - {SAME_VAT}::float8 ELSE 1 END)
    * (CASE WHEN r.same_phone THEN 1::float8 - {SAME_PHONE}::float8 ELSE 1 END)
    * (CASE WHEN r.similar_name
            THEN 1::float8 - {SIMILAR_NAME}::float8 * r.name_similarity ELSE 1 END)
  )::numeric, 3) DESC, r.id::text COLLATE "C"
LIMIT {MAX_CANDIDATES}
""".format(**WEIGHTS, MAX_CANDIDATES=MAX_CANDIDATES)
"""Only the best MAX_CANDIDATES are read, scored as `score` scores them (a partner in a
group of thousands sharing an email or a name read every one of them, to answer 50)."""


@dataclass(frozen=True)
class Candidate:
    partner_id: UUID
    score: float
    reasons: list[str]
    name_similarity: float


class MergeDirectory:
    """Read-side look-ups for duplicates and merges."""

    def __init__(self, pool: AsyncConnectionPool[Any]) -> None:
        self.pool = pool

    async def candidates(self, partner_id: UUID, threshold: float) -> list[Candidate]:
        """Active partners of the same kind that may be the same as this one (not its
        own parent or child, nor anyone anonymized), best first."""
        async with self.pool.connection() as conn, conn.transaction():
            # `%` uses this threshold (and the trigram index); at least ours.
            await conn.execute(
                "SELECT set_config('pg_trgm.similarity_threshold', %s, true)",
                (str(threshold),),
            )
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(
                _CANDIDATES, {"id": partner_id, "no_vat": NO_VAT, "threshold": threshold}
            )
            rows = await cur.fetchall()
        found = []
        for row in rows:
            similarity = float(row["name_similarity"] or 0)
            reasons = [
                reason
                for reason, holds in (
                    ("SAME_EMAIL", row["same_email"]),
                    ("SAME_VAT", row["same_vat"]),
                    ("SAME_PHONE", row["same_phone"]),
                    ("SIMILAR_NAME", row["same_country"] and similarity >= threshold),
                )
                if holds
            ]
            if reasons:
                found.append(Candidate(row["id"], score(reasons, similarity), reasons, similarity))
        found.sort(key=lambda c: (-c.score, str(c.partner_id)))
        return found[:MAX_CANDIDATES]

    async def owned(self, partner_ids: Sequence[UUID]) -> dict[UUID, dict[str, list[str]]]:
        """What each partner has that a merge moves: children, activities, documents and
        opportunities (ids by kind)."""
        result: dict[UUID, dict[str, list[str]]] = {
            p: {kind: [] for kind in MOVED_KINDS} for p in partner_ids
        }
        ids = list(partner_ids)
        async with self.pool.connection() as conn:
            for kind, query in (
                ("children", "SELECT parent_id, id FROM partners WHERE parent_id = ANY(%s)"),
                ("activities", ACTIVITIES_OWNED),
                ("documents", "SELECT partner_id, id FROM documents WHERE partner_id = ANY(%s)"),
                (
                    "opportunities",
                    "SELECT partner_id, id FROM opportunities WHERE partner_id = ANY(%s)",
                ),
                ("affiliations", AFFILIATIONS_OWNED),
                (
                    "bank_accounts",
                    "SELECT partner_id, id FROM bank_accounts WHERE partner_id = ANY(%s) "
                    "AND removed_at IS NULL",
                ),
            ):
                cur = await conn.execute(query + " ORDER BY id", (ids,))
                for owner, record in await cur.fetchall():
                    result[owner][kind].append(str(record))
        return result


def score(reasons: Sequence[str], similarity: float) -> float:
    remaining = 1.0
    for reason in reasons:
        weight = WEIGHTS[reason] * (similarity if reason == "SIMILAR_NAME" else 1.0)
        remaining *= 1.0 - weight
    return round(1.0 - remaining, 3)
