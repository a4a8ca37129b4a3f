"""The `partnerbook` command: serve the API, print the schema."""

from __future__ import annotations

import logging
import signal
import sys

import typer
import uvicorn

from app import database
from app.cli_keys import first_start, keys
from app.settings import Settings

cli = typer.Typer(
    help="Partnerbook: the event-sourced registry of business partners.",
    no_args_is_help=True,
    add_completion=False,
)
cli.add_typer(keys, name="keys")


def _fail(message: str) -> None:
    typer.echo(f"partnerbook: {message}", err=True)
    raise typer.Exit(code=1)


@cli.command()
def serve(
    host: str = typer.Option(
        None, help="Interface to bind (default PARTNERBOOK_HOST or 127.0.0.1)."
    ),
    port: int = typer.Option(None, help="Port (default PARTNERBOOK_PORT or 8000)."),
    reload: bool = typer.Option(False, help="Restart when the code changes (development)."),
) -> None:
    """Runs the GraphQL API (GraphiQL at /graphql); starts the embedded PostgreSQL when
    PARTNERBOOK_DATABASE_URL is not set."""
    settings = Settings()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        db = database.resolve(settings.database_url, settings.data_dir)
        database.check_reachable(db, settings.connect_timeout)
    except database.DatabaseUnavailable as error:
        _fail(str(error))
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
        log_level="info",
        access_log=settings.access_log,
        lifespan="on",
    )


@cli.command()
def schema() -> None:
    """Prints the GraphQL schema (SDL)."""
    from app.schema.schema import sdl

    sys.stdout.write(sdl())


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
