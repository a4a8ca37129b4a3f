"""GraphiQL in a real browser, on a network that reaches nothing but this server: the
system's Chromium, driven by Playwright for Python, opens `partnerbook serve`'s GraphiQL
page with every request to a host other than 127.0.0.1 refused (by the browser context,
and by Chromium's own resolver), pastes a key into the Headers tab, runs a query and a
subscription, and reads their results on the page.

Needs Chromium (`chromium` on the PATH, or PARTNERBOOK_TEST_CHROMIUM naming one) and the
`playwright` package of the dev extras; Playwright's own browsers are never downloaded.
Without Chromium the test is skipped, saying why, except where
PARTNERBOOK_TEST_REQUIRE_BROWSER=1 (CI), where that is a failure."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx2 as httpx
import pytest

from app.infra.database import Database
from tests.e2e.test_server import CREATE, post, serving
from tests.e2e.ws_client import KEYS, until_subscribed

pytestmark = pytest.mark.timeout(900)

LOCAL = "127.0.0.1"
GUARD_MS = 120_000
"""How long a step may take before the test calls it hung: a bound for a hang, never a
timing the test relies on (each wait ends as soon as the page shows what it waits for)."""
QUERY = "query Names { partners(first: 10) { totalCount nodes { name } } }"
SUBSCRIPTION = "subscription Watch { partnerChanged { eventType partner { name } } }"
WATCH_CSP = """window.__csp = [];
document.addEventListener("securitypolicyviolation", (event) =>
  window.__csp.push(`${event.violatedDirective} ${event.blockedURI}`));"""
EDITOR_TEXT = """(selector) => {
  const editor = document.querySelector(selector);
  return editor && editor.CodeMirror ? editor.CodeMirror.getValue() : null;
}"""
RESULT = ".result-window .CodeMirror"
HEADERS = ".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror"
QUERY_EDITOR = ".graphiql-query-editor .CodeMirror"


def _skip_unless_required(reason: str) -> None:
    if os.environ.get("PARTNERBOOK_TEST_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (and PARTNERBOOK_TEST_REQUIRE_BROWSER=1)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium() -> str:
    """The system's Chromium (never one Playwright downloads)."""
    named = os.environ.get("PARTNERBOOK_TEST_CHROMIUM")
    candidates = (named,) if named else ("chromium", "chromium-browser")
    found = next(filter(None, map(shutil.which, candidates)), None)
    if not found:
        _skip_unless_required(
            "GraphiQL's browser test needs Chromium: install the distribution's package "
            "(Debian: apt-get install chromium) or set PARTNERBOOK_TEST_CHROMIUM"
        )
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        _skip_unless_required("GraphiQL's browser test needs `playwright` (pip install .[dev])")
    assert found is not None
    return found


@dataclass
class Traffic:
    """What the page asked for: every request and WebSocket, those refused, and every
    Content-Security-Policy violation it reported."""

    requested: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    sockets: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@asynccontextmanager
async def local_only_page(executable: str, traffic: Traffic) -> AsyncIterator[Any]:
    """A page of a Chromium that resolves no name and whose context refuses every
    request to a host other than 127.0.0.1."""
    from playwright.async_api import Route, async_playwright

    async def only_local(route: Route) -> None:
        if urlsplit(route.request.url).hostname == LOCAL:
            await route.continue_()
        else:
            traffic.refused.append(route.request.url)
            await route.abort("blockedbyclient")

    def console(message: Any) -> None:
        if "Content Security Policy" in message.text:
            traffic.violations.append(message.text)

    arguments = [f"--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE {LOCAL}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        arguments.append("--no-sandbox")  # Chromium refuses to sandbox itself as root
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, args=arguments)
        try:
            context = await browser.new_context(viewport={"width": 1400, "height": 900})
            await context.route("**/*", only_local)
            context.on("request", lambda request: traffic.requested.append(request.url))
            page = await context.new_page()
            page.on("websocket", lambda socket: traffic.sockets.append(socket.url))
            page.on("console", console)
            page.on("pageerror", lambda error: traffic.errors.append(str(error)))
            await page.add_init_script(WATCH_CSP)
            page.set_default_timeout(GUARD_MS)
            yield page
        finally:
            await browser.close()


async def paste(page: Any, selector: str, text: str) -> None:
    """Replaces an editor's text as a paste does (one input, no typing: no bracket the
    editor would close by itself)."""
    await page.locator(selector).click()
    await page.keyboard.press("Control+A")
    await page.keyboard.insert_text(text)
    shown = f"([selector, text]) => ({EDITOR_TEXT})(selector) === text"
    await page.wait_for_function(shown, arg=[selector, text])


async def write_operation(page: Any, document: str, name: str) -> None:
    """Pastes an operation into the query editor and waits until GraphiQL has taken it
    in (it reads an edit after a pause, then stores the text and the operation's name,
    which is what it sends): progress, not a pause of the test's own."""
    await paste(page, QUERY_EDITOR, document)
    taken = """([text, name]) => localStorage.getItem("graphiql:query") === text
      && localStorage.getItem("graphiql:operationName") === name"""
    await page.wait_for_function(taken, arg=[document, name])


async def run_and_wait(page: Any, *expected: str) -> str:
    """Runs the query editor's operation and waits until the result pane shows every
    `expected` text; returns the pane's text."""
    await page.locator(".graphiql-execute-button").click()
    condition = f"""([selector, wanted]) => {{
      const text = ({EDITOR_TEXT})(selector);
      return text !== null && wanted.every((part) => text.includes(part));
    }}"""
    try:
        await page.wait_for_function(condition, arg=[RESULT, list(expected)])
    except Exception as error:
        shown = await page.evaluate(EDITOR_TEXT, RESULT)
        raise AssertionError(f"the result pane never showed {expected}: {shown!r}") from error
    text: str = await page.evaluate(EDITOR_TEXT, RESULT)
    return text


async def _exercise(base: str, page: Any, traffic: Traffic, screenshot: Path) -> dict[str, Any]:
    answer = await page.goto(f"{base}/graphql")  # returns once the page has loaded
    assert answer is not None and answer.status == 200
    assert traffic.refused == [], "the page asked for another origin"
    policy = answer.headers.get("content-security-policy", "")
    await page.wait_for_selector(QUERY_EDITOR)
    template = await page.evaluate(EDITOR_TEXT, HEADERS)
    assert json.loads(template) == {"Authorization": "Bearer pb_…"}
    await paste(page, HEADERS, json.dumps({"Authorization": f"Bearer {KEYS[base]}"}))
    await write_operation(page, QUERY, "Names")
    queried = json.loads(await run_and_wait(page, "Azure Interior"))
    await write_operation(page, SUBSCRIPTION, "Watch")
    await page.locator(".graphiql-execute-button").click()
    await until_subscribed(base, 1)
    await asyncio.to_thread(post, base, CREATE, {"name": "Deco Addict"})
    event = json.loads(await run_and_wait(page, "Deco Addict"))
    await page.screenshot(path=screenshot, full_page=True)
    violations = await page.evaluate("window.__csp")
    return {"policy": policy, "queried": queried, "event": event, "violations": violations}


def test_graphiql_runs_a_query_and_a_subscription_with_no_network_but_localhost(
    chromium: str, db: Database, tmp_path: Path
) -> None:
    traffic = Traffic()
    screenshot = tmp_path / "graphiql.png"

    async def scenario(base: str) -> dict[str, Any]:
        async with local_only_page(chromium, traffic) as page:
            return await _exercise(base, page, traffic, screenshot)

    with serving({"PARTNERBOOK_DATABASE_URL": db.dsn}, tmp_path) as base:
        post(base, CREATE, {"name": "Azure Interior"})
        seen = asyncio.run(scenario(base))
        asset = next(url for url in traffic.requested if "/graphiql/" in url)
        cached = httpx.get(asset, timeout=30).headers["cache-control"]

    assert seen["queried"] == {
        "data": {"partners": {"totalCount": 1, "nodes": [{"name": "Azure Interior"}]}}
    }
    assert seen["event"] == {
        "data": {
            "partnerChanged": {"eventType": "PARTNER_CREATED", "partner": {"name": "Deco Addict"}}
        }
    }
    assert traffic.refused == []
    assert {urlsplit(url).hostname for url in traffic.requested + traffic.sockets} == {LOCAL}
    assert [urlsplit(url).scheme for url in traffic.sockets] == ["ws"]
    assert traffic.violations == [] and seen["violations"] == [] and traffic.errors == []
    assert "script-src 'self'" in seen["policy"] and "unsafe" not in seen["policy"]
    assert "immutable" in cached
    assert screenshot.stat().st_size > 0
