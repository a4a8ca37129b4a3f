"""`partnerbook keys ...` and the first start of `partnerbook serve`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from app.cli import cli
from app.cli_keys import first_start
from app.infra import api_keys
from app.infra.database import Database

runner = CliRunner()
ROOT = Path(__file__).resolve().parent.parent


def run(db: Database, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(cli, list(args), env={"PARTNERBOOK_DATABASE_URL": db.dsn})
    return result.exit_code, result.stdout, result.stderr


def test_create_list_revoke(db: Database) -> None:
    code, out, _ = run(db, "keys", "create", "--name", "ci-bot", "--role", "editor")
    assert code == 0, out
    key = out.strip().splitlines()[-1]
    assert key.startswith("pb_")
    principal = api_keys.split_key(key)
    assert principal is not None
    code, out, _ = run(db, "keys", "create", "--name", "tmp", "--role", "viewer", "--expires", "3")
    assert code == 0
    code, out, _ = run(db, "keys", "list")
    assert code == 0
    assert "ci-bot" in out and "editor" in out and "tmp" in out and "active" in out
    assert key not in out and principal[1] not in out
    code, out, _ = run(db, "keys", "revoke", "ci-bot")
    assert code == 0 and "Revoked" in out
    (tmp,) = [r for r in api_keys.list_keys(db.conninfo()) if r.name == "tmp"]
    assert tmp.expires_at is not None
    code, out, _ = run(db, "keys", "revoke", str(tmp.id))
    assert code == 0
    code, out, _ = run(db, "keys", "list")
    assert out.count("revoked") == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--name", "x", "--role", "root"], "unknown role"),
        (["--name", " ", "--role", "admin"], "must not be empty"),
        (["--name", "x", "--role", "admin", "--expires", "0"], "positive"),
    ],
)
def test_bad_create_is_refused(db: Database, args: list[str], message: str) -> None:
    code, _, err = run(db, "keys", "create", *args)
    assert code == 1
    assert message in err
    assert api_keys.count_keys(db.conninfo()) == 0


def test_if_none_creates_the_first_key_only(db: Database) -> None:
    """What docker-compose.yml's `admin-key` service runs on every `up`."""
    args = ("keys", "create", "--name", "admin", "--role", "admin", "--if-none")
    code, out, _ = run(db, *args)
    assert code == 0 and out.strip().splitlines()[-1].startswith("pb_")
    code, out, _ = run(db, *args)
    assert code == 0 and "none created" in out and "pb_" not in out
    assert [(k.name, k.role) for k in api_keys.list_keys(db.conninfo())] == [("admin", "admin")]


def test_compose_makes_the_key_before_the_replicas_listen_on_every_interface() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    assert compose["admin-key"]["command"] == [
        "partnerbook",
        "keys",
        "create",
        "--name",
        "admin",
        "--role",
        "admin",
        "--if-none",
    ]
    assert compose["api"]["depends_on"]["admin-key"] == {
        "condition": "service_completed_successfully"
    }


def test_names_are_unique_and_revoking_an_unknown_key_fails(db: Database) -> None:
    assert run(db, "keys", "create", "--name", "a", "--role", "admin")[0] == 0
    code, _, err = run(db, "keys", "create", "--name", "a", "--role", "viewer")
    assert code == 1 and "exists already" in err
    code, _, err = run(db, "keys", "revoke", "nobody")
    assert code == 1 and "no key named" in err


def test_serve_refuses_a_public_interface_while_no_key_exists(db: Database) -> None:
    code, _, err = run(db, "serve", "--host", "0.0.0.0", "--port", "1")
    assert code == 1
    assert "no API key exists" in err
    assert api_keys.count_keys(db.conninfo()) == 0


def test_first_start_prints_an_admin_key_once(
    db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    first_start(db, "127.0.0.1", 8000)
    out = capsys.readouterr().out
    (key,) = set(re.findall(r"pb_[0-9a-f]{12}_[A-Za-z0-9_-]{43}", out))
    assert '{"Authorization": "Bearer ' + key + '"}' in out
    assert "http://localhost:8000/graphql" in out
    (row,) = api_keys.list_keys(db.conninfo())
    assert (row.name, row.role) == ("admin", "admin")
    first_start(db, "127.0.0.1", 8000)  # a key exists: nothing printed
    first_start(db, "0.0.0.0", 8000)  # and a public interface is allowed
    assert capsys.readouterr().out == ""
