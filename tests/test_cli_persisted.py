"""`partnerbook persisted register DIR` and `partnerbook persisted list`: the allow-list
of PARTNERBOOK_PERSISTED_ONLY, made from a folder of .graphql files."""

from __future__ import annotations

import hashlib
from pathlib import Path

from starlette.testclient import TestClient
from typer.testing import CliRunner

from app.cli import cli
from app.infra import persisted_documents
from app.infra.database import Database
from app.main import create_app
from app.settings import Settings

runner = CliRunner()
COUNT = "query Count {\n  partners(first: 5) { totalCount }\n}\n"
TAGS = "query Tags { tags(first: 5) { totalCount } }\n"


def run(db: Database, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(cli, list(args), env={"PARTNERBOOK_DATABASE_URL": db.dsn})
    return result.exit_code, result.stdout, result.stderr


def test_register_a_folder_then_run_its_documents_by_hash(
    db: Database, tmp_path: Path, settings: Settings, admin_key: str
) -> None:
    (tmp_path / "dashboards").mkdir()
    (tmp_path / "count.graphql").write_text(COUNT)
    (tmp_path / "dashboards" / "tags.graphql").write_text(TAGS)
    (tmp_path / "notes.txt").write_text("not a document")
    code, out, err = run(db, "persisted", "register", str(tmp_path))
    assert code == 0, err
    count_hash = hashlib.sha256(COUNT.encode()).hexdigest()
    assert f"{count_hash}  {tmp_path / 'count.graphql'}" in out
    assert "Registered 2 documents (2 new)." in out
    code, out, _ = run(db, "persisted", "register", str(tmp_path))
    assert "Registered 2 documents (0 new)." in out
    code, out, _ = run(db, "persisted", "list")
    assert code == 0 and count_hash in out and "query Count {" in out and "query Tags" in out

    strict = settings.model_copy(update={"persisted_only": True})
    headers = {"Authorization": f"Bearer {admin_key}"}
    with TestClient(create_app(strict), headers=headers) as client:
        body = {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": count_hash}}}
        answer = client.post("/graphql", json=body).json()
        assert answer == {"data": {"partners": {"totalCount": 0}}}


def test_a_folder_with_a_bad_document_registers_nothing(db: Database, tmp_path: Path) -> None:
    (tmp_path / "count.graphql").write_text(COUNT)
    (tmp_path / "typo.graphql").write_text("{ partnerz { totalCount } }")
    (tmp_path / "broken.graphql").write_text("query {")
    code, _, err = run(db, "persisted", "register", str(tmp_path))
    assert code == 1
    assert "nothing registered" in err
    assert "typo.graphql: Cannot query field 'partnerz'" in err
    assert "broken.graphql: Syntax Error" in err
    assert persisted_documents.registered_documents(db.conninfo()) == []


def test_register_needs_a_folder_of_documents(db: Database, tmp_path: Path) -> None:
    code, _, err = run(db, "persisted", "register", str(tmp_path / "missing"))
    assert code == 1 and "is not a folder" in err
    code, _, err = run(db, "persisted", "register", str(tmp_path))
    assert code == 1 and "no .graphql file" in err
