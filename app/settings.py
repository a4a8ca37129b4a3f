"""Every setting of Partnerbook, read once from the environment (`PARTNERBOOK_*`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PARTNERBOOK_", frozen=True, extra="ignore")

    database_url: str | None = Field(
        default=None,
        description="PostgreSQL URL; unset starts the embedded server under data_dir.",
    )
    read_database_urls: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="PostgreSQL streaming standbys of database_url (comma-separated URLs) "
        "that serve GraphQL queries; commands, the projector and key checks stay on the "
        "primary (docs/scaling.md#read-replicas).",
    )
    replica_max_lag_bytes: int = Field(
        default=16_000_000,
        ge=0,
        description="WAL bytes a standby may be behind the primary and still serve reads.",
    )
    replica_wait_timeout: float = Field(
        default=2.0,
        ge=0,
        le=60,
        description="Seconds a mutation waits for the standbys to replay its commit; a "
        "standby still behind then serves no read until it has (they go to the primary).",
    )
    replica_check_interval: float = Field(
        default=1.0, gt=0, le=60, description="Seconds between two checks of a standby."
    )
    data_dir: Path = Field(default=Path(".partnerbook"), description="Embedded server data.")
    connect_timeout: float = Field(default=5.0, gt=0, le=60, description="Seconds to reach the db.")
    host: str = "127.0.0.1"
    port: int = 8000
    db_pool_size: int = Field(default=8, ge=1, le=200, description="Read-side async pool.")
    statement_timeout: float = Field(
        default=5.0,
        ge=0,
        le=3600,
        description="Seconds one statement of the read pool may run (0: no limit); API only.",
    )
    pool_timeout: float | None = Field(
        default=None,
        gt=0,
        le=600,
        description="Seconds a read waits for a connection of the read pool before it "
        "answers DATABASE_UNAVAILABLE (unset: connect_timeout; the heavy lane waits 30 s).",
    )
    read_share_per_key: int | None = Field(
        default=None,
        ge=1,
        le=200,
        description="Connections of a process's read pool the reads of one API key may hold "
        "at a time (unset: half of db_pool_size); the rest wait, and answer BUSY past the "
        "pool's timeout.",
    )
    replays_per_key: int = Field(
        default=4,
        ge=1,
        le=1000,
        description="Subscriptions of one API key that replay the log (`after`) at once, "
        "per process; the others wait their turn, then replay.",
    )
    event_store_pool_size: int = Field(default=8, ge=1, le=200)
    command_threads: int = Field(
        default=16, ge=1, le=256, description="Bound on concurrent event-store calls."
    )
    command_share_per_key: int | None = Field(
        default=None,
        ge=1,
        le=256,
        description="Event-store calls (mutations) of one API key that may run at once in a "
        "process (unset: half of command_threads); its others wait their turn.",
    )
    read_your_writes_timeout: float = Field(
        default=5.0, ge=0, description="Seconds a mutation waits for the projections."
    )
    run_projector: bool = Field(
        default=True, description="Run the projector in this process (one holds the lock)."
    )
    projection_batch_size: int = Field(default=500, ge=1, le=10_000)
    snapshot_interval: int = Field(default=100, ge=1, description="Events between snapshots.")
    subscription_queue_size: int = Field(
        default=1000, ge=10, le=100_000, description="Events a slow subscriber may lag by."
    )
    max_subscriptions_per_connection: int = Field(default=100, ge=1, le=10_000)
    subscription_nodes_per_key: int = Field(
        default=500,
        ge=1,
        le=1_000_000,
        description="Nodes the live subscriptions of one API key may answer for each event, "
        "in one process: each counts 1 plus what its walk says one event's answer may "
        "return (a partner's tags 20). Past it, a subscription is refused (LIMIT_EXCEEDED).",
    )
    max_connections_per_key: int = Field(
        default=20,
        ge=1,
        le=100_000,
        description="WebSocket connections one API key may hold open in one process.",
    )
    keep_alive_seconds: float = Field(default=15.0, gt=0, description="WebSocket ping interval.")
    websocket_init_seconds: float = Field(
        default=10.0,
        gt=0,
        le=3600,
        description="Seconds a WebSocket (either protocol) may stay open without a "
        "`connection_init`; past them it is closed with 4408.",
    )
    allowed_origins: list[str] = Field(
        default_factory=list,
        description="Origins (besides the server's own) whose pages may open WebSockets.",
    )
    access_log: bool = Field(default=False, description="uvicorn's line per request.")
    introspection: bool = True
    max_depth: int = Field(default=15, ge=1, le=100, description="Deepest field nesting.")
    max_aliases: int = Field(default=30, ge=0, le=10_000, description="Aliases per document.")
    max_tokens: int = Field(default=5000, ge=100, le=1_000_000, description="Tokens per query.")
    max_cost: int = Field(
        default=10_000, ge=1, description="Nodes one operation may return (page sizes multiplied)."
    )
    max_batch: int = Field(default=100, ge=1, le=10_000, description="Items in a list argument.")
    bulk_edit_limit: int = Field(
        default=10_000, ge=1, le=1_000_000, description="Partners one bulk edit may change."
    )
    max_fields: int = Field(
        default=2000, ge=1, description="Fields of a document, each fragment counted per spread."
    )
    max_filter_depth: int = Field(
        default=10, ge=1, le=100, description="Nesting of `and`/`or`/`not` in a filter."
    )
    max_filter_leaves: int = Field(
        default=500, ge=1, description="Conditions and list items in an operation's filters."
    )
    max_body_bytes: int = Field(default=1_000_000, ge=1024, description="Request body size.")
    key_cache_seconds: float = Field(
        default=5.0, ge=0, le=300, description="How long a good key's look-up is cached."
    )
    graphiql: bool = True
    persisted_only: bool = Field(
        default=False,
        description="Run only the documents registered with `partnerbook persisted register` "
        "(an allow-list); any other is refused with PERSISTED_QUERY_NOT_REGISTERED.",
    )
    persisted_store_bytes: int = Field(
        default=16_000_000,
        ge=0,
        description="Bytes of documents clients persisted automatically (APQ) kept in the "
        "database, the least recently used dropped first; 0 turns APQ off.",
    )
    persisted_store_documents: int = Field(
        default=10_000,
        ge=1,
        le=1_000_000,
        description="Automatic (APQ) documents kept in the database, whatever their bytes: "
        "the least recently used dropped first.",
    )
    duplicate_name_similarity: float = Field(
        default=0.6, gt=0, le=1, description="Trigram similarity for SIMILAR_NAME candidates."
    )
    log_format: Literal["text", "json"] = Field(
        default="text", description="Log lines as text or as one JSON object a line."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    ready_max_lag: int = Field(
        default=1000, ge=0, description="Unprojected events above which /readyz says 503."
    )
    workers: int = Field(default=1, ge=1, le=64, description="uvicorn worker processes.")
    heavy_lane: bool = Field(
        default=True,
        description="Run expensive operations in a second process of lower CPU priority.",
    )
    heavy_cost: int = Field(
        default=100, ge=1, description="Nodes an operation may return from which it is heavy."
    )
    heavy_body_bytes: int = Field(
        default=16_384, ge=1024, description="Request bodies larger than this are heavy."
    )
    heavy_concurrency: int = Field(
        default=2, ge=1, le=64, description="Heavy requests running at once per API process."
    )
    heavy_per_key: int = Field(
        default=2, ge=1, le=1000, description="Heavy requests one key may have in the lane."
    )
    heavy_queue: int = Field(
        default=64, ge=1, le=10_000, description="Heavy requests in the lane per API process."
    )
    heavy_nice: int = Field(default=10, ge=0, le=19, description="The lane's CPU niceness.")
    heavy_renice_database: bool | None = Field(
        default=None,
        description="Lower the priority of the lane's database sessions too (a server on "
        "this machine); unset: only for the embedded server.",
    )
    max_connections: int = Field(
        default=1000,
        ge=1,
        le=1_000_000,
        description="Connections (HTTP and WebSocket) one `serve` process holds; uvicorn "
        "answers 503 to requests past them (its `limit_concurrency`).",
    )
    request_head_seconds: float = Field(
        default=10.0,
        gt=0,
        le=3600,
        description="Seconds a request's line and headers may take to arrive (from the "
        "connection's opening, or the request's first byte); past them 408 and a close.",
    )
    request_body_seconds: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="Seconds a request's body may take to arrive once its head has; past "
        "them 408 and a close.",
    )
    response_write_seconds: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="Seconds an answer may wait on a client that reads none of it (the "
        "server's buffers for the connection full); past them the connection is dropped.",
    )
    graceful_shutdown_seconds: int = Field(
        default=10, ge=0, le=3600, description="On SIGTERM, how long open requests may finish."
    )
    run_webhooks: bool = Field(
        default=True,
        description="Deliver webhooks from this process (each endpoint is served by one "
        "process at a time, which holds its advisory lock).",
    )
    webhooks_allow_private: bool = Field(
        default=False,
        description="Let webhook URLs be http and point at loopback or private addresses "
        "(tests, local use); otherwise https and public addresses only.",
    )
    webhook_timeout_seconds: float = Field(
        default=10.0, gt=0, le=120, description="One delivery attempt: connect, send, answer."
    )
    webhook_max_body_bytes: int = Field(
        default=256_000, ge=1024, le=10_000_000, description="Largest webhook body sent."
    )
    webhook_response_bytes: int = Field(
        default=4096, ge=0, le=1_000_000, description="Bytes of a receiver's answer read."
    )
    webhook_max_attempts: int = Field(
        default=22,
        ge=1,
        le=100,
        description="Attempts of one event before its endpoint is disabled (the defaults "
        "retry for about three days).",
    )
    webhook_backoff_seconds: float = Field(
        default=5.0, gt=0, le=3600, description="Wait after the first failed attempt; doubles."
    )
    webhook_backoff_max_seconds: float = Field(
        default=28_800.0, gt=0, le=86_400, description="Longest wait between two attempts."
    )
    webhook_secret_grace_seconds: int = Field(
        default=86_400,
        ge=0,
        le=30 * 86_400,
        description="After rotateWebhookSecret, how long the previous secret still signs.",
    )
    webhook_attempts_kept: int = Field(
        default=1000, ge=10, le=1_000_000, description="Delivery attempts listed per endpoint."
    )
    webhook_batch_size: int = Field(
        default=100,
        ge=1,
        le=1000,
        description="Events a webhook endpoint's worker reads at once when it is behind or "
        "has a partners filter (the most a batch read before an erasure may still send).",
    )
    max_webhook_endpoints: int = Field(
        default=100, ge=1, le=10_000, description="Webhook endpoints an installation may have."
    )

    @field_validator("read_database_urls", mode="before")
    @classmethod
    def _split_urls(cls, value: object) -> object:
        """`url1,url2` (or separated by spaces) from the environment; a list as given."""
        if isinstance(value, str):
            return [u for u in value.replace(",", " ").split() if u]
        return value
