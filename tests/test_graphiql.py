"""GraphiQL from the package (app/graphiql.py): the vendored files are the ones recorded,
`pip install .` ships them, the page names only them and forbids everything else, and
they are cached for good under a path that changes with them. The browser test
(tests/e2e/test_graphiql_browser.py) runs it on a network that reaches nothing else."""

from __future__ import annotations

import fnmatch
import re
import tomllib
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from app import graphiql_vendor
from app.graphiql import FOLDER, GraphiQLAssets, content_security_policy
from app.main import create_app
from app.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
PAGE = {"accept": "text/html"}


def _directives(policy: str) -> dict[str, list[str]]:
    return {
        name: values for name, *values in (directive.split() for directive in policy.split(";"))
    }


def test_the_vendored_files_are_the_ones_whose_sums_are_recorded() -> None:
    recorded = graphiql_vendor.recorded_sums()
    assert sorted(recorded) == graphiql_vendor.vendored_names()
    for name, digest in recorded.items():
        assert graphiql_vendor.sha256((FOLDER / name).read_bytes()) == digest, name


def test_every_served_file_is_package_data() -> None:
    """`pip install .` ships what the page loads: the package-data globs match it."""
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    globs = setuptools["package-data"]["app"]
    app = ROOT / "app"
    for name in [*GraphiQLAssets.load().files, "SHA256SUMS"]:
        relative = (FOLDER / name).relative_to(app).as_posix()
        assert any(fnmatch.fnmatch(relative, pattern) for pattern in globs), relative


def test_the_page_loads_only_assets_of_this_server(client: TestClient) -> None:
    page = client.get("/graphql", headers=PAGE)
    assert page.status_code == 200
    assert not re.search(r"(?:https?:)?//", page.text.replace("<!doctype html>", ""))
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert {re.sub(r"/[0-9a-f]{16}/[^/]+$", "", url) for url in assets} == {"/graphiql", "data:,"}
    for url in assets:
        if url.startswith("/graphiql/"):
            served = client.get(url)
            assert served.status_code == 200, url
            assert served.headers["cache-control"] == "public, max-age=31536000, immutable"
            assert served.headers["content-type"].startswith(("text/javascript", "text/css"))


def test_the_page_forbids_everything_but_its_assets_and_this_server(client: TestClient) -> None:
    page = client.get("/graphql", headers={**PAGE, "host": "partners.example:8443"})
    policy = _directives(page.headers["content-security-policy"])
    assert policy == {
        "default-src": ["'none'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'", "ws://partners.example:8443", "wss://partners.example:8443"],
        "base-uri": ["'none'"],
        "form-action": ["'none'"],
        "frame-ancestors": ["'none'"],
    }
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-cache"


@pytest.mark.parametrize(
    "host",
    [
        "evil.example; script-src *",
        "evil.example,connect-src *",
        "a b",
        "example.com/path",
        "x" * 300 + ":1:2",
    ],
)
def test_a_host_header_cannot_add_to_the_policy(host: str) -> None:
    policy = _directives(content_security_policy(host))
    assert policy["connect-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]


def test_an_asset_of_another_version_or_name_is_not_found(client: TestClient) -> None:
    version = GraphiQLAssets.load().version
    for url in (
        f"/graphiql/{'0' * 16}/graphiql.min.js",
        f"/graphiql/{version}/SHA256SUMS",
        f"/graphiql/{version}/graphiql.LICENSE",
        f"/graphiql/{version}/..%2Fgraphiql_vendor.py",
        f"/graphiql/{version}/nothing.js",
    ):
        assert client.get(url).status_code == 404, url


def test_the_version_changes_with_any_served_file(tmp_path: Path) -> None:
    for name in ("partnerbook.js", "graphiql.min.css"):
        (tmp_path / name).write_bytes((FOLDER / name).read_bytes())
    before = GraphiQLAssets.load(tmp_path)
    (tmp_path / "partnerbook.js").write_bytes(b"// changed\n")
    assert GraphiQLAssets.load(tmp_path).version != before.version


def test_an_unchanged_asset_is_not_sent_again(client: TestClient) -> None:
    url = f"{GraphiQLAssets.load().path}partnerbook.js"
    etag = client.get(url).headers["etag"]
    again = client.get(url, headers={"if-none-match": etag})
    assert again.status_code == 304 and again.content == b""


def test_the_start_up_script_fills_the_headers_tab_with_a_template_not_a_key() -> None:
    script = (FOLDER / "partnerbook.js").read_text()
    assert 'var KEY_TEMPLATE = "Bearer pb_…";' in script
    assert "shouldPersistHeaders: false" in script
    assert not re.search(r"https?://", script)


def test_with_graphiql_off_no_asset_is_served(settings: Settings) -> None:
    url = f"{GraphiQLAssets.load().path}graphiql.min.js"
    off = TestClient(create_app(settings.model_copy(update={"graphiql": False})))
    assert off.get(url).status_code == 404
