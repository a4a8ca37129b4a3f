"""Opens webhook delivery for the runtime: the secret and delivery tables, the stores the
API uses and (unless turned off) this process's delivery worker, wired to the schema's
body and the partners filter."""

from __future__ import annotations

import functools
import uuid
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import anyio
import anyio.to_thread
from eventsourcing.postgres import PostgresFactory
from psycopg.sql import Composable
from psycopg_pool import AsyncConnectionPool

from app.application import Partnerbook
from app.domain.audited import Audit
from app.infra import database, webhook_secrets
from app.infra.positions import ProjectionWaiter
from app.infra.shredding.secret import installation_secret
from app.observability import Metrics
from app.queries.partners.filters import compile_filter
from app.schema.segments import filter_from_json
from app.schema.webhooks.body import webhook_body
from app.settings import Settings
from app.webhooks import store
from app.webhooks.worker import WebhookDispatcher

ACTOR = "system:webhooks"
"""Who disables an endpoint whose last retry failed (the events' actor)."""


def _compile_where(data: dict[str, Any]) -> Composable:
    return compile_filter(filter_from_json(data).to_filter(), datetime.now(UTC))


def _prepare(db: database.Database, app: Partnerbook) -> bytes:
    webhook_secrets.ensure_table(db.conninfo())
    store.ensure_tables(db.conninfo())
    factory = app.factory
    assert isinstance(factory, PostgresFactory)
    return installation_secret(factory.datastore, "webhook-secrets")


async def open_webhooks(
    db: database.Database,
    settings: Settings,
    app: Partnerbook,
    pool: AsyncConnectionPool[Any],
    waiter: ProjectionWaiter,
    limiter: anyio.CapacityLimiter,
    metrics: Metrics | None,
) -> tuple[store.WebhookStores, WebhookDispatcher | None]:
    key = await anyio.to_thread.run_sync(_prepare, db, app)
    stores = store.WebhookStores(webhook_secrets.SecretStore(pool, key), store.DeliveryStore(pool))
    if not settings.run_webhooks:
        return stores, None

    async def disable(ident: UUID, why: str) -> int | None:
        audit = Audit(ACTOR, f"webhooks-{uuid.uuid4().hex[:16]}")
        command = functools.partial(app.disable_webhook_endpoint, ident, why, audit)
        result = await anyio.to_thread.run_sync(command, limiter=limiter)
        return result.position

    dispatcher = WebhookDispatcher(
        db.conninfo(),
        stores.deliveries,
        stores.secrets,
        waiter,
        settings,
        webhook_body,
        _compile_where,
        disable,
        metrics,
    )
    await dispatcher.start()
    return stores, dispatcher
