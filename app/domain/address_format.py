"""Country-specific postal address layout (after Odoo's `address_format` per country)."""

from __future__ import annotations

import re
from collections.abc import Mapping

DEFAULT_FORMAT = "{street}\n{street2}\n{zip} {city}\n{state_name}\n{country_name}"
FORMATS = {
    "US": "{street}\n{street2}\n{city}, {state_code} {zip}\n{country_name}",
    "CA": "{street}\n{street2}\n{city} {state_code} {zip}\n{country_name}",
    "AU": "{street}\n{street2}\n{city} {state_code} {zip}\n{country_name}",
    "GB": "{street}\n{street2}\n{city}\n{state_name}\n{zip}\n{country_name}",
    "IE": "{street}\n{street2}\n{city}\n{state_name}\n{zip}\n{country_name}",
    "JP": "{zip}\n{state_name} {city}\n{street}\n{street2}\n{country_name}",
    "CN": "{country_name}\n{state_name} {city}\n{street}\n{street2}\n{zip}",
    "IN": "{street}\n{street2}\n{city} {zip}\n{state_name}\n{country_name}",
    "BR": "{street}\n{street2}\n{city} - {state_code}\n{zip}\n{country_name}",
}


_DANGLING = re.compile(r"^(?:,|-\s)\s*|\s*(?:,|\s-)$")
"""A separator left at either end of a line by a missing part ("Rio -", ", 94538")."""


def format_address(parts: Mapping[str, str | None]) -> str | None:
    """Lays out the address lines the way the post of its country expects; blank lines and
    dangling separators left by missing parts are dropped. None when there is no address."""
    values = {k: (v or "") for k, v in parts.items()}
    if not any(values.get(k) for k in ("street", "street2", "city", "zip", "country_name")):
        return None
    template = FORMATS.get(values.get("country_code", ""), DEFAULT_FORMAT)
    lines = []
    for line in template.format(**values).split("\n"):
        cleaned = _DANGLING.sub("", line.strip())
        if cleaned:
            lines.append(" ".join(cleaned.split()))
    return "\n".join(lines) or None
