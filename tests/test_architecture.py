"""The import direction of DESIGN.md, for every package of `app`:

domain <- infra <- application <- projections <- queries <- schema <- main/cli,
with settings and observability (imports nothing of app) used by schema and main."""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app"
PROCESS = ("main", "cli", "demo")
"""Top-level modules (and `cli_*`) that wire and run the others: they may import anything."""
MAY_IMPORT: dict[str, set[str]] = {
    "domain": set(),
    "settings": set(),
    "observability": set(),
    "infra": {"domain"},
    "application": {"domain", "infra"},
    "projections": {"domain", "infra", "application"},
    "queries": {"domain", "infra", "application", "projections"},
    "schema": {"domain", "infra", "application", "queries", "settings", "observability"},
}
"""What each layer may import besides itself; `main` may import every layer."""
FORBIDDEN_IN_DOMAIN = ("psycopg", "strawberry", "starlette", "uvicorn", "anyio", "app.")


def _layer(module: str) -> str | None:
    """The layer of a module of `app` (None outside `app`, or for the package itself)."""
    parts = module.split(".")
    if parts[0] != "app" or len(parts) < 2:
        return None
    name = parts[1]
    if name in PROCESS or name.startswith("cli_"):
        return "main"
    return name


def _imports(path: Path) -> list[str]:
    return _imports_from_source(path.read_text(), str(path))


def _imports_from_source(source: str, filename: str = "<source>") -> list[str]:
    """Every module imported, absolute; `from app import x` counts as `app.x`."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source, filename=filename)):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "app":
                found.extend(f"app.{alias.name}" for alias in node.names)
            else:
                found.append(node.module)
    return found


def _module_name(path: Path) -> str:
    parts = path.relative_to(APP.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _violations(module: str, imported: list[str]) -> list[str]:
    own = _layer(module)
    if own is None or own == "main":
        return []
    allowed = MAY_IMPORT[own] | {own}
    return [
        f"{module} imports {name}"
        for name in imported
        if (other := _layer(name)) is not None and other not in allowed
    ]


def _modules() -> list[tuple[str, Path]]:
    return [(_module_name(path), path) for path in sorted(APP.rglob("*.py"))]


def test_every_module_belongs_to_a_layer() -> None:
    unplaced = [
        module
        for module, _ in _modules()
        if module != "app" and _layer(module) not in {*MAY_IMPORT, "main"}
    ]
    assert unplaced == []


def test_every_layer_named_exists() -> None:
    """A misspelt or removed layer in MAY_IMPORT would check nothing."""
    present = {_layer(module) for module, _ in _modules()}
    assert set(MAY_IMPORT) <= present


def test_layers_import_only_downwards() -> None:
    violations = [v for module, path in _modules() for v in _violations(module, _imports(path))]
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


def test_sql_lives_in_infra_projections_and_queries() -> None:
    """Besides the process that wires them (main, cli)."""
    talking = {"infra", "projections", "queries", "main"}
    offenders = [
        module
        for module, path in _modules()
        if _layer(module) not in talking and any(i.startswith("psycopg") for i in _imports(path))
    ]
    assert offenders == []


def test_the_scan_sees_a_violation() -> None:
    """Guards the guard: each upward import, written as code, is caught."""
    source = "import psycopg\nfrom app.schema import schema\nfrom app import queries\n"
    imported = _imports_from_source(source)
    assert any(i.startswith(FORBIDDEN_IN_DOMAIN) for i in imported)
    assert _violations("app.infra.database", imported) == [
        "app.infra.database imports app.schema",
        "app.infra.database imports app.queries",
    ]
    assert _violations("app.projections.partners", ["app.queries.keyset"]) != []
    assert _violations("app.application.base", ["app.projections.projector"]) != []
    assert _violations("app.schema.context", ["app.projections.registry"]) != []
    assert _violations("app.schema.context", ["app.main"]) != []
    assert _violations("app.settings", ["app.infra.database"]) != []
    assert _violations("app.queries.exports", ["app.projections.partners"]) == []
    assert _violations("app.cli_data", ["app.schema.ids"]) == []
