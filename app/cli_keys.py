"""`partnerbook keys ...`: create, list and revoke API keys; and the first start of
`partnerbook serve`, which makes the admin key a newcomer needs."""

from __future__ import annotations

from datetime import UTC, datetime

import typer
from rich.console import Console
from rich.table import Table

from app.cli_database import fail, reach_database
from app.infra import api_keys, database
from app.settings import Settings

keys = typer.Typer(help="API keys: create, list, revoke.", no_args_is_help=True)

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def _conninfo() -> str:
    return reach_database(Settings()).conninfo()


@keys.command("create")
def create(
    name: str = typer.Option(..., "--name", help="Unique name; recorded as the actor."),
    role: str = typer.Option(..., "--role", help="admin, editor, viewer or auditor."),
    expires: int | None = typer.Option(None, "--expires", help="Days until it expires."),
    if_none: bool = typer.Option(
        False,
        "--if-none",
        help="Only when no key exists at all; otherwise print that and change nothing "
        "(a deployment's first start, e.g. docker-compose.yml).",
    ),
) -> None:
    """Creates a key and prints it once (the last line); only its hash is stored."""
    conninfo = _conninfo()
    if if_none and api_keys.count_keys(conninfo) > 0:
        typer.echo("Keys exist already: none created.")
        return
    try:
        key = api_keys.create_key(conninfo, name, role, expires)
    except api_keys.ApiKeyError as error:
        fail(str(error))
    typer.echo(f"Created the {role} key {name.strip()!r}; it is shown only this once:")
    typer.echo(key)


@keys.command("list")
def list_() -> None:
    """Lists the keys (never their secrets)."""
    rows = api_keys.list_keys(_conninfo())
    now = datetime.now(UTC)
    table = Table("id", "name", "role", "prefix", "state", "created", "expires", "last used")

    def when(moment: datetime | None) -> str:
        return moment.strftime("%Y-%m-%d %H:%M") if moment else "-"

    for row in rows:
        table.add_row(
            str(row.id),
            row.name,
            row.role,
            f"pb_{row.prefix}_…",
            row.state(now),
            when(row.created_at),
            when(row.expires_at),
            when(row.last_used_at),
        )
    Console(width=160).print(table)


@keys.command("revoke")
def revoke(name_or_id: str = typer.Argument(..., help="The key's name or id.")) -> None:
    """Revokes a key; returns once every running server process refuses it and has
    closed its WebSockets."""
    try:
        row = api_keys.revoke_key(_conninfo(), name_or_id)
    except api_keys.ApiKeyError as error:
        fail(str(error))
    typer.echo(f"Revoked the key {row.name!r} ({row.id}).")


def first_start(db: database.Database, host: str, port: int) -> None:
    """Before serving: with no key at all, creates the admin key and prints it (on
    localhost), or refuses to listen on another interface (exit code 1)."""
    conninfo = db.conninfo()
    if api_keys.count_keys(conninfo) > 0:
        return
    if host not in LOCAL_HOSTS:
        fail(
            f"refusing to listen on {host} while no API key exists: anyone could reach "
            "the registry. Create one first (`partnerbook keys create --name admin "
            "--role admin`), or start once on 127.0.0.1 to get the admin key."
        )
    key = api_keys.create_key(conninfo, "admin", "admin")
    shown = "localhost" if host in ("127.0.0.1", "::1") else host
    typer.echo(
        "\nFirst start: created the API key 'admin' (role admin). It is shown only this once:\n"
        f"\n    {key}\n\n"
        f"Open GraphiQL at http://{shown}:{port}/graphql and paste into its Headers tab:\n"
        f'\n    {{"Authorization": "Bearer {key}"}}\n\n'
        "Create more keys with `partnerbook keys create --name NAME --role ROLE`.\n"
    )
