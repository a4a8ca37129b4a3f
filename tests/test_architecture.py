"""The import rules of DESIGN.md, checked on every module of `app/` by an `ast` scan."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app"

# Every top-level package and module of `app/`, by layer, lowest first. A module may import
# its own layer and the layers below it, never one above. A package or module missing here
# fails the scan: give a new one its layer in this table.
LAYERS: dict[str, set[str]] = {
    "domain": {"domain", "locales"},  # locales: catalogs and standard names, no I/O but files
    # Settings and the adapters to PostgreSQL and eventsourcing (database, pools, notices,
    # recorder, key stores, shredding); they import nothing above the domain.
    "infra": {"infra", "settings", "observability"},
    "application": {"application"},
    "projections": {"projections"},  # the table writers
    "queries": {"queries"},  # the read directories (they may read the writers' row types)
    "delivery": {"webhooks"},  # webhook delivery: follows the read models, calls out
    "api": {"schema"},
    "entry points": {
        "main",
        "runtime",
        "runtime_webhooks",
        "runtime_replicas",
        "graphql_view",
        "graphiql",
        "graphiql_vendor",
        "health",
        "cli",
        "cli_data",
        "cli_database",
        "cli_demo",
        "cli_keys",
        "cli_maintenance",
        "cli_persisted",
        "cli_report",
        "cli_projections",
        "demo",
        "lane_process",
        "event_loop",  # the servers' loop (uvicorn's, by import string)
    },
}

# Third-party names a layer never imports (DESIGN.md: a pure domain, no SQL in the API).
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "domain": ("psycopg", "strawberry", "starlette", "uvicorn", "anyio"),
    "application": ("psycopg",),
    "api": ("psycopg",),
}


def module_name(path: Path, root: Path) -> str:
    """`root/domain/partner.py` -> `app.domain.partner` (the package is `root`'s name)."""
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, module: str) -> Iterator[str]:
    """Every module `path` imports, absolute; `from pkg import name` also yields `pkg.name`
    (it may be a submodule). Relative imports are resolved against `module`."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def layer_of(module: str, layers: dict[str, set[str]]) -> str | None:
    """The layer of `app.<name>...`; None for the package root itself or an unknown name."""
    parts = module.split(".")
    if len(parts) < 2:
        return None
    return next((layer for layer, names in layers.items() if parts[1] in names), None)


def rule_violations(
    root: Path,
    layers: dict[str, set[str]] = LAYERS,
    forbidden: dict[str, tuple[str, ...]] = FORBIDDEN,
) -> list[str]:
    """What breaks the rules under package directory `root`: unclassified modules, imports
    pointing up a layer, forbidden third-party imports."""
    rank = {layer: i for i, layer in enumerate(layers)}
    package = root.name
    violations: list[str] = []
    for path in sorted(root.rglob("*.py")):
        module = module_name(path, root)
        if module == package:
            continue
        own = layer_of(module, layers)
        if own is None:
            violations.append(f"{module} has no layer")
            continue
        for imported in imported_modules(path, module):
            if imported.split(".")[0] == package:
                other = layer_of(imported, layers)
                if other is not None and rank[other] > rank[own]:
                    violations.append(f"{module} ({own}) imports {imported} ({other})")
            elif imported.startswith(forbidden.get(own, ())):
                violations.append(f"{module} ({own}) imports {imported}")
    return sorted(set(violations))


def test_every_module_of_app_keeps_the_import_rules() -> None:
    assert rule_violations(APP) == []


def test_every_top_level_name_of_app_has_a_layer() -> None:
    names = {p.stem for p in APP.iterdir() if p.suffix == ".py" and p.stem != "__init__"}
    names |= {p.name for p in APP.iterdir() if (p / "__init__.py").exists()}
    assert names - set().union(*LAYERS.values()) == set()


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "app"
    for name, source in {"__init__.py": "", **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        (path.parent / "__init__.py").touch()
        path.write_text(source)
    return root


def test_the_scan_reports_an_import_pointing_up(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "schema/types.py": "",
            "domain/partner.py": "from app.schema.types import PartnerType\n",
            "domain/tag.py": "from ..schema import types\n",
            "application/partners.py": "import app.domain.partner\n",
        },
    )
    assert rule_violations(root) == [
        "app.domain.partner (domain) imports app.schema.types (api)",
        "app.domain.partner (domain) imports app.schema.types.PartnerType (api)",
        "app.domain.tag (domain) imports app.schema (api)",
        "app.domain.tag (domain) imports app.schema.types (api)",
    ]


def test_the_scan_reports_a_module_without_a_layer(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"widgets/gauge.py": "", "tools.py": "", "domain/tag.py": ""})
    assert rule_violations(root) == [
        "app.tools has no layer",
        "app.widgets has no layer",
        "app.widgets.gauge has no layer",
    ]


def test_the_scan_reports_infrastructure_in_the_domain_and_sql_in_the_api(
    tmp_path: Path,
) -> None:
    root = _tree(
        tmp_path,
        {
            "domain/partner.py": "import psycopg\nfrom starlette.requests import Request\n",
            "schema/partners.py": "from psycopg import sql\n",
            "projections/partners.py": "from psycopg import sql\n",
        },
    )
    assert rule_violations(root) == [
        "app.domain.partner (domain) imports psycopg",
        "app.domain.partner (domain) imports starlette.requests",
        "app.domain.partner (domain) imports starlette.requests.Request",
        "app.schema.partners (api) imports psycopg",
        "app.schema.partners (api) imports psycopg.sql",
    ]
