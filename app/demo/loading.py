"""Loads the demo data: units saved many per transaction, refused when the seed is
loaded already."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from uuid import UUID

from eventsourcing.domain import Aggregate

from app.application import Partnerbook
from app.demo.catalog import create_catalog
from app.demo.factory import DemoFactory, id_source
from app.demo.pools import build_pools
from app.domain.activity import Activity
from app.domain.audited import Audit
from app.domain.document import Document
from app.domain.opportunity import Opportunity
from app.domain.partner import Partner

MAX_PER_SAVE = 400
"""New aggregates per transaction, at most (docs/scaling.md, "very large saves")."""
SAVE_TARGET = 300
"""A save is sent once the pending aggregates reach this many (a company unit is < 100)."""


@dataclass
class DemoStats:
    partners: int = 0
    companies: int = 0
    children: int = 0
    individuals: int = 0
    activities: int = 0
    documents: int = 0
    opportunities: int = 0
    aggregates: int = 0
    saves: int = 0
    position: int = 0
    """Notification id of the last event written."""


class AlreadyLoaded(RuntimeError):
    """The demo data of this seed is in the registry already."""


def first_partner_id(seed: int) -> UUID:
    """The id the first demo partner of this seed gets (how a second load is detected)."""
    return UUID(int=id_source(seed).getrandbits(128), version=4)


Progress = Callable[[DemoStats], None]


def load_demo(
    app: Partnerbook,
    partners: int,
    *,
    seed: int = 1,
    today: date | None = None,
    progress: Progress | None = None,
) -> DemoStats:
    """Writes about `partners` partners (a company unit is not split, so a few more) and
    their records; returns what it wrote. Raises AlreadyLoaded if the seed was loaded."""
    if first_partner_id(seed) in app.repository:
        raise AlreadyLoaded(
            f"the demo data of seed {seed} is already in this registry: pass another --seed"
        )
    audit = Audit("demo", f"demo-{seed}", "demo data")
    catalog = create_catalog(app, audit, seed)
    factory = DemoFactory(
        catalog, build_pools(seed), audit, random.Random(seed), seed, today or date.today()
    )
    factory.secret = app.idempotency_secret
    stats = DemoStats()
    pending: list[Aggregate] = []

    def flush() -> None:
        if not pending:
            return
        assert len(pending) <= MAX_PER_SAVE
        recordings = app.save(*pending)
        stats.saves += 1
        stats.aggregates += len(pending)
        if recordings:
            stats.position = max(stats.position, recordings[-1].notification.id)
        pending.clear()
        if progress is not None:
            progress(stats)

    while stats.partners < partners:
        unit = factory.unit()
        if len(pending) + len(unit) > SAVE_TARGET:
            flush()
        pending.extend(unit)
        for aggregate in unit:
            if isinstance(aggregate, Partner):
                stats.partners += 1
                if aggregate.kind == "COMPANY":
                    stats.companies += 1
                elif aggregate.parent_id is not None:
                    stats.children += 1
                else:
                    stats.individuals += 1
            elif isinstance(aggregate, Activity):
                stats.activities += 1
            elif isinstance(aggregate, Document):
                stats.documents += 1
            elif isinstance(aggregate, Opportunity):
                stats.opportunities += 1
    flush()
    return stats
