"""Processes the benchmark starts: servers on free ports, their peak memory, plain HTTP calls."""

import os
import resource
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def http(
    method: str,
    url: str,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 60,
) -> tuple[int, bytes]:
    """One request; the status and body, also for 4xx/5xx answers."""
    request = urllib.request.Request(url, data=body, method=method, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def process_tree(pid: int) -> list[int]:
    """The process and all its descendants (uvicorn workers, for instance)."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                queue += [int(child) for child in task.read_text().split()]
            except OSError:
                continue
    return found


def reset_peak(pids: Sequence[int]) -> bool:
    """Restart VmHWM from the current RSS (Linux: clear_refs 5); False if not allowed."""
    ok = True
    for pid in pids:
        try:
            Path(f"/proc/{pid}/clear_refs").write_text("5")
        except OSError:
            ok = False
    return ok


def peak_mib(pids: Sequence[int]) -> float:
    """VmHWM summed over the processes, in MiB."""
    total_kib = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total_kib += int(line.split()[1])
        except OSError:
            continue
    return total_kib / 1024


def cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU time consumed so far by the processes (their own, not children's)."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


_database: list[str] = []


def track_database(name: str) -> None:
    """Count PostgreSQL CPU for this database only (other databases' backends are others)."""
    _database[:] = [name]


def postgres_pids() -> list[int]:
    """The PostgreSQL processes working for the tracked database: its backends, their parallel
    workers and its autovacuum workers (with no database tracked: every PostgreSQL process)."""
    backends, parallel = [], []
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() != "postgres":
                continue
            pid = int(comm.parent.name)
            title = (comm.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, ValueError):
            continue
        if not _database or f" {_database[0]} " in f"{title} ":
            backends.append(pid)
        elif "parallel worker for PID" in title:
            parallel.append((pid, int(title.split("PID")[1].split()[0])))
    mine = set(backends)
    return backends + [pid for pid, leader in parallel if leader in mine]


def machine_busy_seconds() -> float:
    """CPU time all processes of the machine have used (from /proc/stat), all cores summed."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds() -> float:
    """CPU time of this process's waited-for children (wrk, py-spy, ...)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True, slots=True)
class CpuUse:
    app: float  # seconds of the measured process(es)
    pg: float  # seconds of PostgreSQL working for the bench database
    others_share: float  # share of the machine's capacity used by anything else


class CpuMeter:
    """CPU used between start and stop by a server's processes, by PostgreSQL for the bench
    database, and by the rest of the machine (other than this process and its children)."""

    def __init__(self, server_pids: Sequence[int]) -> None:
        self.server_pids = list(server_pids)
        self.started = time.monotonic()
        self.pg_before = {pid: cpu_seconds([pid]) for pid in postgres_pids()}
        self.pg_seen = dict(self.pg_before)
        self.app_before = cpu_seconds(self.server_pids)
        self.machine_before = machine_busy_seconds()
        self.self_before = self._self()

    @staticmethod
    def _self() -> float:
        own = resource.getrusage(resource.RUSAGE_SELF)
        return own.ru_utime + own.ru_stime + children_cpu_seconds()

    def sample(self) -> None:
        """Note the backends now working (call it now and then: backends that come and go
        between samples are missed)."""
        for pid in postgres_pids():
            self.pg_seen[pid] = max(self.pg_seen.get(pid, 0.0), cpu_seconds([pid]))

    def stop(self) -> CpuUse:
        self.sample()
        app = cpu_seconds(self.server_pids) - self.app_before
        pg = sum(seen - self.pg_before.get(pid, 0.0) for pid, seen in self.pg_seen.items())
        machine = machine_busy_seconds() - self.machine_before
        ours = self._self() - self.self_before
        if os.getpid() not in self.server_pids:
            ours += app
        capacity = (time.monotonic() - self.started) * (os.cpu_count() or 1)
        others = max(0.0, machine - ours - pg) / capacity if capacity else 0.0
        return CpuUse(app, pg, others)


class Server:
    """A server subprocess in its own process group, its output in a log file."""

    def __init__(
        self, name: str, argv: Sequence[str], env: Mapping[str, str], log_path: Path
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = {**os.environ, **env}
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> "Server":
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                self.argv, env=self.env, stdout=log, stderr=log, start_new_session=True
            )
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def pids(self) -> list[int]:
        return process_tree(self.pid)

    def wait_ready(self, url: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited ({self.proc.returncode}); see {self.log}")
            try:
                status, body = http("GET", url)
                if status < 500:
                    return
                last = f"{status} {body[:300].decode(errors='replace')}"
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(
            f"{self.name} did not get ready at {url} in {timeout:.0f}s (last: {last});"
            f" see {self.log}"
        )

    @property
    def log(self) -> str:
        return str(self.log_path)

    def stop(self) -> None:
        """SIGTERM to the server's own process group, then SIGKILL if it lingers."""
        if self.proc is None or self.proc.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, 25.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.proc.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                continue
