"""Pools of names, streets, cities and phones per country, made by Faker once."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from faker import Faker

from app.demo.vocabulary import COUNTRIES


@dataclass
class Pool:
    """Values of one country's locale, made by Faker once."""

    country: str
    currency: str
    lang: str
    first_names: list[str]
    last_names: list[str]
    companies: list[str]
    streets: list[str]
    cities: list[str]
    postcodes: list[str]
    phones: list[str]


def build_pools(seed: int, size: int = 150) -> list[Pool]:
    pools = []
    for rank, (country, locale, currency, _) in enumerate(COUNTRIES):
        faker = Faker(locale)
        faker.seed_instance(seed * 100 + rank)

        def sample(provider: str, n: int = size, faker: Faker = faker) -> list[str]:
            make: Callable[[], Any] = getattr(faker, provider)
            return sorted({str(make()).replace("\n", ", ") for _ in range(n)})

        pools.append(
            Pool(
                country=country,
                currency=currency,
                lang=locale,
                first_names=sample("first_name"),
                last_names=sample("last_name"),
                companies=sample("company"),
                streets=sample("street_address"),
                cities=sample("city", size // 2),
                postcodes=sample("postcode", size // 2),
                phones=sample("phone_number"),
            )
        )
    return pools


def slugify(text: str, sep: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", sep, ascii_text.lower()).strip(sep)
