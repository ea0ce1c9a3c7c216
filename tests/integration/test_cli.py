"""The ``touchbase`` command: keys, migrate, serve wiring, run in-process against the test DB."""

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app import cli, migrations
from app.tenants import service as tenants

ROOT = Path(__file__).resolve().parents[2]


async def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run the command in a thread (it runs its own event loop); exit status, stdout, stderr."""
    capsys.readouterr()
    code = await asyncio.to_thread(cli.main, list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(autouse=True)
def _database(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)


async def test_keys_create_prints_the_key_last_and_it_works(
    app: FastAPI, capsys: pytest.CaptureFixture[str], unique: Callable[[str], str]
) -> None:
    name = unique("cli")
    code, out, err = await run_cli(capsys, "keys", "create", "--tenant", name, "--role", "admin")
    assert code == 0, err
    key = out.splitlines()[-1]
    assert out == key + "\n"
    assert "admin" in err
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=headers) as c:
        listed = await c.get("/v1/api-keys")
    assert listed.status_code == 200, listed.text


async def test_keys_create_reuses_the_tenant_and_sets_the_partner(
    app: FastAPI, capsys: pytest.CaptureFixture[str], unique: Callable[[str], str]
) -> None:
    name = unique("cli")
    base = ("keys", "create", "--tenant", name)
    _, first, _ = await run_cli(capsys, *base, "--role", "read")
    code, out, err = await run_cli(capsys, *base, "--role", "partner", "--partner", "dist-9")
    assert code == 0, err
    async with app.state.sessionmaker() as session:
        principal = await tenants.authenticate(session, out.splitlines()[-1])
    assert principal is not None
    assert (principal.role.value, principal.partner_id) == ("partner", "dist-9")
    assert principal.tenant_id == tenants.tenant_of_key(first.splitlines()[-1])


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--role", "boss"], "invalid choice"),
        (["--role", "partner"], "--role partner needs --partner"),
        (["--role", "read", "--partner", "p-1"], "--partner goes only with --role partner"),
        (["--role", "partner", "--partner", "no spaces"], "--partner:"),
        (["--role", "read", "--name", "a\x00b"], "--name:"),
    ],
)
async def test_keys_create_refuses_bad_options(
    capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    code, out, err = await run_cli(capsys, "keys", "create", "--tenant", "t-bad", *extra)
    assert code == 2
    assert out == ""
    assert message in err
    assert "Traceback" not in err


async def test_migrate_at_head_changes_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = await run_cli(capsys, "migrate")
    assert code == 0, err
    assert out.splitlines()[-1] == f"database at revision {migrations.head_revision()} (unchanged)"


async def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = await run_cli(capsys)
    assert code == 2
    assert "usage: touchbase" in err


def test_the_module_runs_as_a_script(database_url: str, unique: Callable[[str], str]) -> None:
    """``python -m app.cli``: what the console script runs, with real, separate streams."""
    argv = ["keys", "create", "--tenant", unique("cli"), "--role", "ingest", "--name", "ci"]
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", *argv],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1].startswith(tenants.KEY_PREFIX)


def test_serve_runs_uvicorn_with_one_database_for_every_worker(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr("uvicorn.run", lambda app, **kwargs: calls.append((app, kwargs)))
    monkeypatch.setattr("app.logging.configure", lambda level: None)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "")
    assert cli.main(["serve", "--port", "8123", "--workers", "3"]) == 0
    [(target, options)] = calls
    assert target == "app.main:app"
    assert options["workers"] == 3
    assert (options["loop"], options["http"], options["proxy_headers"]) == (
        "uvloop",
        "httptools",
        False,
    )
    assert options["timeout_graceful_shutdown"] == cli.GRACEFUL_SHUTDOWN_SECONDS
    assert os.environ["DATABASE_URL"] == database_url
    assert Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).is_dir()


@pytest.mark.parametrize("argv", [["--workers", "0"], ["--port", "70000"], ["--port", "x"]])
def test_serve_refuses_bad_numbers(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["serve", *argv]) == 2
    assert "error: argument" in capsys.readouterr().err
