"""The fixed vocabulary of the demo data: countries and their locales, the tag tree,
the catalogs, job functions, activities and opportunities, and the mix of units."""

from __future__ import annotations

from typing import Any

COUNTRIES: tuple[tuple[str, str, str, float], ...] = (
    # (ISO country, Faker locale, currency, weight)
    ("US", "en_US", "USD", 0.22),
    ("FR", "fr_FR", "EUR", 0.15),
    ("DE", "de_DE", "EUR", 0.15),
    ("GB", "en_GB", "GBP", 0.10),
    ("ES", "es_ES", "EUR", 0.10),
    ("IT", "it_IT", "EUR", 0.10),
    ("NL", "nl_NL", "EUR", 0.08),
    ("BE", "nl_BE", "EUR", 0.06),
    ("PT", "pt_PT", "EUR", 0.04),
)
REGIONS = {"US": "Americas"}
TAG_TREE: dict[str, tuple[str, ...]] = {
    "Region": ("EMEA", "Americas", "APAC"),
    "Segment": ("SMB", "Mid-market", "Enterprise"),
    "Interest": ("Software", "Hardware", "Services", "Training"),
    "VIP": (),
    "Newsletter": (),
}
INDUSTRIES = (
    "Automotive", "Banking", "Construction", "Education", "Energy", "Food & Beverage",
    "Healthcare", "Hospitality", "Logistics", "Manufacturing", "Media", "Retail",
)  # fmt: skip
PAYMENT_TERMS: tuple[tuple[str, list[dict[str, Any]]], ...] = (
    ("Immediate Payment", [{"kind": "BALANCE", "days": 0}]),
    ("15 Days", [{"kind": "BALANCE", "days": 15}]),
    ("30 Days", [{"kind": "BALANCE", "days": 30}]),
    ("45 Days", [{"kind": "BALANCE", "days": 45}]),
    (
        "30% Now, Balance 60 Days",
        [{"kind": "PERCENT", "value": "30", "days": 0}, {"kind": "BALANCE", "days": 60}],
    ),
)
PRICELISTS = (("Public Pricelist (EUR)", "EUR"), ("Public Pricelist (USD)", "USD"),
              ("Public Pricelist (GBP)", "GBP"), ("Wholesale (EUR)", "EUR"))  # fmt: skip
DELIVERY_METHODS = (("Pick-up in store", "0"), ("Standard delivery", "9.90"),
                    ("Express delivery", "24.50"))  # fmt: skip
FUNCTIONS = (
    "CEO", "CFO", "Purchasing Manager", "Accountant", "Sales Manager", "Engineer",
    "Office Manager", "IT Manager", "Buyer", "Project Manager",
)  # fmt: skip
ACTIVITIES = (
    ("CALL", "Call back about the renewal"), ("EMAIL", "Send the updated price list"),
    ("MEETING", "Quarterly business review"), ("TODO", "Check the delivery address"),
    ("FOLLOW_UP", "Follow up on the quotation"), ("CALL", "Ask about the open invoice"),
)  # fmt: skip
OPPORTUNITIES = ("Office furniture", "Software licences", "Maintenance contract",
                 "Training programme", "Fleet renewal", "Consulting days")  # fmt: skip
MIX = {"company": 0.30, "individual": 0.20}
"""Share of companies and individuals among the units drawn; companies bring children."""
