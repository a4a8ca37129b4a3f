"""`PartnerDirectory`: every read of the partners read model, as the API holds it."""

from __future__ import annotations

from app.queries.partners.counts import PartnerCounts
from app.queries.partners.lookups import PartnerLookups
from app.queries.partners.pages import PartnerPages
from app.queries.partners.trends import PartnerTrends


class PartnerDirectory(PartnerLookups, PartnerPages, PartnerCounts, PartnerTrends):
    """Reads partners from the read model through the async pool: by id (`get_many`),
    in keyset pages (`page`), counted (`count`, `total`, `facet_counts`), counted by groups (`grouped_counts`)."""
