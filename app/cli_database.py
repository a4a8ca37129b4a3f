"""How a `partnerbook` command reaches the database, or ends with one line saying why not."""

from __future__ import annotations

from typing import NoReturn

import typer

from app.infra import database
from app.settings import Settings


def fail(message: str, code: int = 1) -> NoReturn:
    """Ends the command: `partnerbook: <message>` on stderr, exit `code`."""
    typer.echo(f"partnerbook: {message}", err=True)
    raise typer.Exit(code=code)


def reach_database(settings: Settings, *, prepare: bool = False) -> database.Database:
    """The configured database once it answers (with `prepare`, also ready for the read
    side: its extensions created); the command fails naming it otherwise."""
    try:
        db = database.resolve(settings.database_url, settings.data_dir)
        if prepare:
            database.prepare(db, settings.connect_timeout)
        else:
            database.check_reachable(db, settings.connect_timeout)
    except database.DatabaseUnavailable as error:
        fail(str(error))
    return db
