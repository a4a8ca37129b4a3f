"""The `partnerbook` command: serve the API, print the schema."""

from __future__ import annotations

import signal
import sys

import typer
import uvicorn

from app.cli_database import fail, reach_database
from app.cli_keys import first_start, keys
from app.cli_maintenance import maintenance
from app.cli_persisted import persisted
from app.cli_projections import audit_cli, projections
from app.domain.text import unstorable_reason
from app.observability import configure_logging, log_config
from app.settings import Settings

cli = typer.Typer(
    help="Partnerbook: the event-sourced registry of business partners.",
    no_args_is_help=True,
    add_completion=False,
)
cli.add_typer(projections, name="projections")
cli.add_typer(audit_cli, name="audit")
cli.add_typer(keys, name="keys")
cli.add_typer(maintenance, name="maintenance")
cli.add_typer(persisted, name="persisted")


@cli.command()
def serve(
    host: str = typer.Option(
        None, help="Interface to bind (default PARTNERBOOK_HOST or 127.0.0.1)."
    ),
    port: int = typer.Option(None, help="Port (default PARTNERBOOK_PORT or 8000)."),
    reload: bool = typer.Option(False, help="Restart when the code changes (development)."),
    workers: int = typer.Option(
        None, min=1, max=64, help="Worker processes (default PARTNERBOOK_WORKERS or 1)."
    ),
) -> None:
    """Runs the GraphQL API (GraphiQL at /graphql); starts the embedded PostgreSQL when
    PARTNERBOOK_DATABASE_URL is not set."""
    from app.main import server_options

    settings = Settings()
    configure_logging(settings.log_format, settings.log_level)
    worker_count = workers or settings.workers
    if reload and worker_count > 1:
        fail("--reload runs one process: leave out --workers")
    db = reach_database(settings)
    bind_host = host or settings.host
    bind_port = port or settings.port
    first_start(db, bind_host, bind_port)
    where = "embedded PostgreSQL in " + str(settings.data_dir) if db.embedded else db.url
    typer.echo(f"Partnerbook on http://{bind_host}:{bind_port}/graphql (database: {where})")
    # uvicorn re-raises SIGTERM after its graceful shutdown; exiting through Python instead
    # runs the atexit hooks, which stop the embedded PostgreSQL with the process.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=bind_host,
        port=bind_port,
        reload=reload,
        log_level=settings.log_level.lower(),
        access_log=settings.access_log,
        lifespan="on",
        workers=worker_count,
        # Applied again in each worker process: every line with the request id.
        log_config=log_config(settings.log_format, settings.log_level),
        timeout_graceful_shutdown=settings.graceful_shutdown_seconds,
        # The request's head and a WebSocket message held to their limits as they arrive.
        **server_options(settings),
        # A worker answers the supervisor's pings only once its interpreter has started
        # and imported the CLI (spawned, not forked): on a busy machine that took over
        # 30 s, the supervisor killed it and spawned another, which took as long: with the
        # CPUs busy (load ~18 on 2 vCPUs) the second worker never came up.
        timeout_worker_healthcheck=120,
    )


@cli.command()
def schema() -> None:
    """Prints the GraphQL schema (SDL)."""
    from app.schema.schema import sdl

    sys.stdout.write(sdl())


from app.cli_data import export_app, import_app  # noqa: E402

cli.add_typer(import_app, name="import")
cli.add_typer(export_app, name="export")
from app.cli_demo import demo as _demo  # noqa: E402

cli.command()(_demo)


def main() -> None:
    # Arguments may become event data (a file's name in an import's reason, a key's name
    # as the actor): text PostgreSQL cannot store is refused before any command runs.
    for number, argument in enumerate(sys.argv[1:], start=1):
        reason = unstorable_reason(argument)
        if reason is not None:
            typer.echo(f"partnerbook: argument {number} is not valid text: it {reason}", err=True)
            raise SystemExit(2)
    cli()


if __name__ == "__main__":
    main()
