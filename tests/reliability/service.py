"""A real ``touchbase serve`` subprocess, and the ``touchbase`` commands that prepare it."""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import httpx

from tests.reliability.postgres import free_port

TOUCHBASE = Path(sys.executable).with_name("touchbase")
STARTUP_SECONDS = 30.0
STOP_SECONDS = 30.0
# Test-friendly knobs: a short Retry-After so retrying clients do not idle for long.
SERVICE_SETTINGS = {"TOUCHBASE_RETRY_AFTER_SECONDS": "1", "TOUCHBASE_LOG_LEVEL": "INFO"}


def _environment(database_url: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOUCHBASE_")}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env["DATABASE_URL"] = database_url
    env.update(extra or {})
    return env


def touchbase(database_url: str, *args: str) -> str:
    """Run one ``touchbase`` command to completion; its standard output."""
    done = subprocess.run(
        [str(TOUCHBASE), *args],
        env=_environment(database_url),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"touchbase {' '.join(args)} failed ({done.returncode}): {done.stderr}")
    return done.stdout


def migrate(database_url: str) -> None:
    touchbase(database_url, "migrate")


def create_key(database_url: str, tenant: str, role: str = "admin") -> str:
    """A new key of ``role`` for ``tenant`` (created if need be): the last line printed."""
    out = touchbase(database_url, "keys", "create", "--tenant", tenant, "--role", role)
    return out.strip().splitlines()[-1]


class Service:
    """``touchbase serve`` on 127.0.0.1 and a port of its own, logging to a file."""

    def __init__(
        self,
        database_url: str,
        log_dir: Path,
        port: int | None = None,
        settings: Mapping[str, str] | None = None,
    ) -> None:
        self.database_url = database_url
        # TOUCHBASE_* settings of the processes started from now on (beside SERVICE_SETTINGS)
        self.settings = dict(settings or {})
        self.port = port or free_port()
        self.log_dir = log_dir
        self.process: subprocess.Popen[bytes] | None = None
        self.generation = 0
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.log_dir / f"serve-{self.port}-{self.generation}.log"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> None:
        """Start a new process (a new log file each time) and wait until /healthz answers."""
        assert self.process is None, "already running"
        self.generation += 1
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [str(TOUCHBASE), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            env=_environment(self.database_url, {**SERVICE_SETTINGS, **self.settings}),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self._wait_healthy()

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        with httpx.Client(base_url=self.url, timeout=2) as client:
            while time.monotonic() < deadline:
                if self.process is not None and self.process.poll() is not None:
                    break
                try:
                    if client.get("/healthz").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
        code = self.process.poll() if self.process else None
        self.stop()
        raise RuntimeError(f"touchbase serve did not come up (exit {code}):\n{self.log_tail()}")

    def terminate(self) -> None:
        """Send SIGTERM (uvicorn's graceful shutdown) without waiting."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)

    def wait(self, timeout: float = STOP_SECONDS) -> int:
        """Wait for the process to exit; its exit status. The log is closed, ready to read."""
        assert self.process is not None
        code = self.process.wait(timeout)
        self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None
        return code

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL if it lingers; safe to call when not running."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.terminate()
        try:
            return self.wait()
        except subprocess.TimeoutExpired:
            assert self.process is not None
            self.process.kill()
            return self.wait()

    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_entries(self, generation: int | None = None) -> list[dict[str, Any]]:
        """The JSON log lines of one process (default: the current or last one)."""
        path = self.log_dir / f"serve-{self.port}-{generation or self.generation}.log"
        entries = []
        for line in path.read_text(errors="replace").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                entry = {"level": "raw", "msg": line}
            entries.append(entry if isinstance(entry, dict) else {"level": "raw", "msg": line})
        return entries

    def logged(self, request_id: str) -> list[str]:
        """The log lines of one request, tracebacks included."""
        return [
            f"{entry.get('level')} {entry.get('msg')}"
            + (f"\n{entry['exc']}" if "exc" in entry else "")
            for entry in self.log_entries()
            if entry.get("request_id") == request_id
        ]

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def problems(self) -> list[dict[str, Any]]:
        """Log entries at error level or with a traceback: what an operator would look at."""
        return [
            e
            for e in self.log_entries()
            if e.get("level") in ("error", "critical", "raw") or "exc" in e
        ]


@contextmanager
def served(database_url: str) -> Iterator[Service]:
    """A running service; always stopped, and its logs removed, afterwards."""
    with tempfile.TemporaryDirectory(prefix="touchbase-serve-") as log_dir:
        service = Service(database_url, Path(log_dir))
        try:
            service.start()
            yield service
        finally:
            service.stop()
