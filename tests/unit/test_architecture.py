"""The cadence engine stays pure: no imports beyond the standard library and `holidays`,
and no reading of the clock."""

import ast
import sys
from pathlib import Path

import pytest

CADENCE = Path(__file__).resolve().parents[2] / "app" / "cadence"
FILES = sorted(CADENCE.glob("*.py"))
ALLOWED_THIRD_PARTY = {"holidays"}
CLOCK_CALLS = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
    ("time", "time"),
    ("time", "time_ns"),
    ("time", "monotonic"),
    ("time", "perf_counter"),
}


def imported_modules(tree: ast.AST) -> list[str]:
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: inside app.cadence
                names.append("app.cadence")
            else:
                names.append(node.module or "")
    return names


def allowed(module: str) -> bool:
    top = module.split(".")[0]
    return (
        top in sys.stdlib_module_names
        or top in ALLOWED_THIRD_PARTY
        or module == "app.cadence"
        or module.startswith("app.cadence.")
    )


def test_there_is_an_engine_to_guard() -> None:
    assert {"status.py", "calendar.py", "__init__.py"} <= {f.name for f in FILES}


@pytest.mark.parametrize("path", FILES, ids=[f.name for f in FILES])
def test_cadence_imports_only_the_standard_library_and_holidays(path: Path) -> None:
    tree = ast.parse(path.read_text(), filename=str(path))
    bad = [m for m in imported_modules(tree) if not allowed(m)]
    assert bad == [], f"{path.name} imports {bad}"


def clock_reads(tree: ast.AST) -> list[str]:
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            owner = node.value
            name = owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", None)
            if (name, node.attr) in CLOCK_CALLS:
                found.append(f"{name}.{node.attr} (line {node.lineno})")
        elif isinstance(node, ast.ImportFrom) and node.module == "time":
            found += [f"from time import {a.name}" for a in node.names]
    return found


@pytest.mark.parametrize("path", FILES, ids=[f.name for f in FILES])
def test_cadence_never_reads_the_clock(path: Path) -> None:
    tree = ast.parse(path.read_text(), filename=str(path))
    assert clock_reads(tree) == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from datetime import datetime\ndatetime.now()", ["datetime.now (line 2)"]),
        ("import datetime\ndatetime.datetime.utcnow()", ["datetime.utcnow (line 2)"]),
        ("from datetime import date\ndate.today()", ["date.today (line 2)"]),
        ("import time\ntime.time()", ["time.time (line 2)"]),
        ("from time import time", ["from time import time"]),
        ("from datetime import datetime, time\ntime(9)", []),
    ],
)
def test_the_clock_guard_catches_clock_reads(source: str, expected: list[str]) -> None:
    assert clock_reads(ast.parse(source)) == expected


def test_the_import_guard_refuses_the_rest_of_the_app() -> None:
    tree = ast.parse("import httpx\nfrom app.db import x\nfrom . import types\nimport zoneinfo")
    assert [m for m in imported_modules(tree) if not allowed(m)] == ["httpx", "app.db"]


def test_only_reads_run_in_autocommit_sessions() -> None:
    """A route marked read_only gets an autocommit session: a write there would commit on its
    own, statement by statement. Only GETs may be marked."""
    from fastapi.routing import APIRoute

    from app.api import ROUTERS
    from app.db import READ_ONLY_ROUTES

    routes = [r for router in ROUTERS for r in router.routes if isinstance(r, APIRoute)]
    marked = [r for r in routes if r.endpoint in READ_ONLY_ROUTES]
    assert len(marked) == len(READ_ONLY_ROUTES) > 10
    assert all(r.methods == {"GET"} for r in marked), [r.path for r in marked]
