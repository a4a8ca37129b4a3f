"""A TypeScript client's code generator accepts the schema and the operations of the docs:
GraphQL Code Generator's client preset turns schema.graphql and every ```graphql example of
README.md and docs/*.md into types, and TypeScript compiles what it generated (strict).

Needs node and npm, and the npm registry (or npm's cache) for the pinned packages of
tests/codegen/ (`npm ci`: 297 packages, 114 MB, 30 to 50 s here). Without
them the tests are skipped, saying why; `PARTNERBOOK_TEST_REQUIRE_NODE=1` (for CI) makes
that a failure instead."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import NoReturn

import pytest
from graphql import OperationDefinitionNode

from tests.docs_examples import ROOT, every_example, named, named_text

PACKAGES = Path(__file__).resolve().parent / "codegen"
NETWORK_ERRORS = (
    "ENOTFOUND",
    "EAI_AGAIN",
    "ECONNREFUSED",
    "ECONNRESET",
    "ETIMEDOUT",
    "ENETUNREACH",
)

CODEGEN_CONFIG = {
    "schema": str(ROOT / "schema.graphql"),
    "documents": ["operations/*.graphql"],
    "config": {
        # Every custom scalar mapped, as a client should: an unmapped one is an error.
        "strictScalars": True,
        "scalars": {"Date": "string", "DateTime": "string", "Decimal": "string", "JSON": "unknown"},
    },
    "generates": {"generated/": {"preset": "client"}},
}
TSCONFIG = {
    "compilerOptions": {
        "strict": True,
        "noEmit": True,
        "target": "ES2022",
        "module": "ESNext",
        "moduleResolution": "Bundler",
        "lib": ["ES2022"],
    },
    "include": ["generated/*.ts"],
}


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("PARTNERBOOK_TEST_REQUIRE_NODE") == "1":
        pytest.fail(f"{reason} (and PARTNERBOOK_TEST_REQUIRE_NODE=1)")
    pytest.skip(reason)


def _run(command: list[str], cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="module")
def toolchain(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory where the pinned packages of tests/codegen/ are installed."""
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        _unavailable("node and npm are not installed: GraphQL Code Generator cannot run")
    work = tmp_path_factory.mktemp("codegen")
    for name in ("package.json", "package-lock.json"):
        shutil.copy(PACKAGES / name, work / name)
    command = [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"]
    installed = _run(command, work, timeout=240)
    if installed.returncode != 0:
        lines = installed.stdout.splitlines()
        unreachable = [line for line in lines if any(code in line for code in NETWORK_ERRORS)]
        if unreachable:
            _unavailable(
                f"npm cannot reach its registry to install the generator: {unreachable[0]}"
            )
        pytest.fail(f"npm ci failed:\n{installed.stdout}")
    (work / "codegen.json").write_text(json.dumps(CODEGEN_CONFIG, indent=2))
    (work / "tsconfig.json").write_text(json.dumps(TSCONFIG, indent=2))
    return work


def _generate(work: Path, documents: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Runs the generator on these documents (file name -> text), from a clean slate."""
    for stale in ("operations", "generated"):
        shutil.rmtree(work / stale, ignore_errors=True)
    (work / "operations").mkdir()
    for name, text in documents.items():
        (work / "operations" / name).write_text(text)
    generator = str(work / "node_modules" / ".bin" / "graphql-codegen")
    return _run([generator, "--config", "codegen.json"], work, timeout=120)


def test_every_documented_operation_becomes_typescript_types(toolchain: Path) -> None:
    examples = every_example()
    documents = {
        re.sub(r"[^A-Za-z0-9]+", "-", e.where) + ".graphql": named_text(e) for e in examples
    }
    generated = _generate(toolchain, documents)
    assert generated.returncode == 0, generated.stdout
    assert "skipped" not in generated.stdout, generated.stdout  # anonymous operations

    types = (toolchain / "generated" / "graphql.ts").read_text()
    expected = [
        f"{d.name.value}{d.operation.value.title()}"
        for e in examples
        for d in named(e).definitions
        if isinstance(d, OperationDefinitionNode) and d.name is not None
    ]
    assert len(expected) >= len(examples)
    assert [t for t in expected if f"export type {t} = " not in types] == []

    compiled = _run([str(toolchain / "node_modules" / ".bin" / "tsc")], toolchain, timeout=120)
    assert compiled.returncode == 0, compiled.stdout


def test_an_operation_the_schema_cannot_answer_stops_the_generator(toolchain: Path) -> None:
    broken = "query Faxes { partners(first: 5) { nodes { displayName faxNumber } } }"
    generated = _generate(toolchain, {"broken.graphql": broken})
    assert generated.returncode != 0
    assert "faxNumber" in generated.stdout
