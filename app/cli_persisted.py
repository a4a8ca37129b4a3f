"""`partnerbook persisted ...`: register the documents clients may run by their hash (the
allow-list of PARTNERBOOK_PERSISTED_ONLY), list them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from graphql import GraphQLError, parse, validate

from app.cli_database import fail, reach_database
from app.domain.text import unstorable_reason
from app.infra import persisted_documents
from app.settings import Settings

persisted = typer.Typer(
    help="Persisted documents: register a folder of .graphql files, list them.",
    no_args_is_help=True,
)


def document_errors(text: str) -> list[str]:
    """Why `text` cannot be registered: it must parse and validate against the schema."""
    from app.schema.schema import build_schema

    reason = unstorable_reason(text)
    if reason is not None:
        return [f"the text {reason}"]
    try:
        document = parse(text)
    except GraphQLError as error:
        return [error.message]
    return [error.message for error in validate(build_schema()._schema, document)]


def read_documents(folder: Path) -> dict[Path, str]:
    """Every `.graphql` file under `folder` (sorted), each one document; the command
    fails, registering nothing, when one cannot be read, parsed or validated."""
    if not folder.is_dir():
        fail(f"{folder} is not a folder")
    files = sorted(folder.rglob("*.graphql"))
    if not files:
        fail(f"no .graphql file in {folder}")
    texts: dict[Path, str] = {}
    problems: list[str] = []
    for path in files:
        try:
            texts[path] = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            problems.append(f"{path}: cannot be read as UTF-8 text ({error})")
            continue
        problems += [f"{path}: {error}" for error in document_errors(texts[path])]
    if problems:
        fail("nothing registered:\n  " + "\n  ".join(problems))
    return texts


@persisted.command("register")
def register(
    folder: Annotated[
        Path, typer.Argument(help="A folder of .graphql files (searched recursively).")
    ],
) -> None:
    """Registers each .graphql file as one document, found by the SHA-256 of its exact
    text (printed with its path): clients send that hash, or the text itself."""
    texts = read_documents(folder)
    conninfo = reach_database(Settings()).conninfo()
    new = persisted_documents.register(conninfo, list(texts.values()))
    for path, text in texts.items():
        typer.echo(f"{persisted_documents.sha256_of(text)}  {path}")
    plural = "" if len(texts) == 1 else "s"
    typer.echo(f"Registered {len(texts)} document{plural} ({new} new).")


@persisted.command("list")
def list_() -> None:
    """Lists the registered documents: hash, when registered, first line."""
    conninfo = reach_database(Settings()).conninfo()
    for row in persisted_documents.registered_documents(conninfo):
        first = next((line.strip() for line in row.document.splitlines() if line.strip()), "")
        typer.echo(f"{row.sha256}  {row.created_at:%Y-%m-%d %H:%M}  {first[:60]}")
