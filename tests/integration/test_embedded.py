"""Without DATABASE_URL: an embedded PostgreSQL (pgserver) under TOUCHBASE_DATA_DIR."""

import asyncio
import atexit
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from app import cli, embedded, migrations
from app.config import Settings
from tests.database import asyncpg_dsn

pgserver: Any = pytest.importorskip("pgserver")


def stop_server(data_dir: Path) -> None:
    """Stop the server running on ``data_dir``, if any (``embedded`` leaves it running)."""
    if not (data_dir / "postmaster.pid").exists():
        return
    server = pgserver.get_server(data_dir, cleanup_mode="stop")
    server.cleanup_mode = "stop"  # a handle cached by embedded.database_url keeps its own mode
    server.cleanup()
    atexit.unregister(server._cleanup)  # done already; at exit it would only log to closed streams


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    # Under /tmp: pgserver, run as root, runs PostgreSQL as the "pgserver" user, who must reach it.
    path = tmp_path / "pgdata"
    for name in ("DATABASE_URL", "TOUCHBASE_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TOUCHBASE_DATA_DIR", str(path))
    try:
        yield path
    finally:
        stop_server(path)


async def revision_at(url: str) -> str | None:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        revision: str | None = await conn.fetchval("SELECT version_num FROM alembic_version")
        return revision
    finally:
        await conn.close()


def test_migrate_uses_the_embedded_server(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["migrate"]) == 0, capsys.readouterr().err
    head = migrations.head_revision()
    assert capsys.readouterr().out.splitlines()[-1].startswith(f"database at revision {head}")
    assert (data_dir / "PG_VERSION").exists()
    url = embedded.database_url(Settings())
    assert asyncio.run(revision_at(url)) == head
    stop_server(data_dir)
    assert not (data_dir / "postmaster.pid").exists()
