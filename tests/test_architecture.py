"""The import direction of DESIGN.md: domain <- application <- projections <- schema <- main/cli."""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app"
LAYERS = ["domain", "application", "projections", "schema", "main"]
FORBIDDEN_IN_DOMAIN = ("psycopg", "strawberry", "starlette", "uvicorn", "anyio", "app.")


def _layer(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "app" or len(parts) < 2:
        return None
    name = parts[1]
    if name in ("main", "cli"):
        return "main"
    return name if name in LAYERS else None


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
    return found


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(APP.parent).with_suffix("").parts)


def test_layers_import_only_downwards() -> None:
    violations = []
    for path in APP.rglob("*.py"):
        own = _layer(_module_name(path))
        if own is None:
            continue
        for imported in _imports(path):
            other = _layer(imported)
            if other is not None and LAYERS.index(other) > LAYERS.index(own):
                violations.append(f"{_module_name(path)} imports {imported}")
    assert violations == []


def test_domain_imports_no_infrastructure() -> None:
    violations = []
    for path in (APP / "domain").rglob("*.py"):
        for imported in _imports(path):
            bad = imported.startswith(FORBIDDEN_IN_DOMAIN) and not imported.startswith("app.domain")
            if bad:
                violations.append(f"{_module_name(path)} imports {imported}")
    assert violations == []


def test_schema_writes_no_sql() -> None:
    offenders = [
        _module_name(path)
        for path in (APP / "schema").rglob("*.py")
        if any(i.startswith("psycopg") for i in _imports(path))
    ]
    assert offenders == []


def test_the_scan_sees_a_violation() -> None:
    """Guards the guard: a domain module importing psycopg would be caught."""
    tree_imports = _imports_from_source("import psycopg\nfrom app.schema import schema\n")
    assert any(i.startswith(FORBIDDEN_IN_DOMAIN) for i in tree_imports)
    assert _layer("app.schema.schema") == "schema"


def _imports_from_source(source: str) -> list[str]:
    tree = ast.parse(source)
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names
