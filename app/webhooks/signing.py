"""What a webhook attempt sends and when it is tried again: the body as bytes (its
values left out past a size), the Standard Webhooks headers, the backoff after a failure."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from typing import Any

from standardwebhooks import Webhook

from app.settings import Settings


def backoff(settings: Settings, failures: int) -> float:
    """Seconds to wait after the `failures`-th failure: doubling, capped, ±20 % jitter."""
    base = settings.webhook_backoff_seconds * 2 ** min(failures - 1, 40)
    jitter: float = random.uniform(0.8, 1.2)
    return float(min(base, settings.webhook_backoff_max_seconds)) * jitter


def encode(body: dict[str, Any], limit: int) -> bytes:
    """The body as sent; over `limit` bytes, the event's values are left out (it says so)."""
    raw = json.dumps(body, separators=(",", ":"), default=str).encode()
    if len(raw) <= limit:
        return raw
    entry = body["data"]["timeline"]
    trimmed = {**body, "truncated": True, "data": {"timeline": {**entry, "changes": {}}}}
    raw = json.dumps(trimmed, separators=(",", ":"), default=str).encode()
    if len(raw) <= limit:
        return raw
    entry = {**entry, "changes": {}, "summary": "", "reason": None}
    return json.dumps({**trimmed, "data": {"timeline": entry}}, default=str).encode()


def signed_headers(signers: list[Webhook], webhook_id: str, body: bytes) -> dict[str, str]:
    """The Standard Webhooks headers; every secret that signs now signs (a rotation)."""
    now = datetime.now(UTC)
    signatures = " ".join(signer.sign(webhook_id, now, body) for signer in signers)
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signatures,
    }
