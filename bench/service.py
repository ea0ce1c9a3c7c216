"""The real service: ``touchbase serve`` as a subprocess, its keys, and ``touchbase import``."""

import os
import random
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from bench.dataset import CHANNELS, Layout, customer_id
from bench.procs import CpuMeter, CpuUse, Server

TOUCHBASE = str(Path(sys.executable).with_name("touchbase"))
SUMMARY = re.compile(r"imported: created=(\d+) duplicates=(\d+) rejected=(\d+) .*rate=(\d+)/s")


def service_env(url: str) -> dict[str, str]:
    """The service as deployed, but for the background judge of lateness: the seed copies a
    year of history behind the service's back, and judging its 500,000 follow-ups would take
    a core for the whole run (the compliance probe judges the quarter it reports on)."""
    return {"DATABASE_URL": url, "TOUCHBASE_LATENESS": "false"}


def server(url: str, port: int, workers: int, log: Path) -> Server:
    argv = [TOUCHBASE, "serve", "--host", "127.0.0.1", "--port", str(port)]
    return Server("touchbase serve", [*argv, "--workers", str(workers)], service_env(url), log)


def create_key(url: str, tenant: str) -> str:
    """``touchbase keys create``: the key is alone on the last line of standard output."""
    argv = [TOUCHBASE, "keys", "create", "--tenant", tenant, "--role", "admin"]
    done = subprocess.run(
        argv, env={**os.environ, **service_env(url)}, capture_output=True, text=True, check=True
    )
    return done.stdout.strip().splitlines()[-1]


def write_import_file(path: Path, layout: Layout, count: int, tag: str) -> None:
    """NDJSON touches of the last 30 days for random ordinary customers, unique external ids."""
    rng = random.Random(11)
    now = datetime.now(UTC)
    ordinary = layout.ordinary_range
    with path.open("wb") as out:
        for n in range(count):
            touch = {
                "customer_id": customer_id(rng.randrange(ordinary.start, ordinary.stop)),
                "channel": rng.choice(CHANNELS),
                "occurred_at": (now - timedelta(seconds=rng.randint(60, 30 * 86400))).isoformat(),
                "direction": "inbound" if rng.random() < 0.2 else "outbound",
                "category": "sales",
                "actor": {"rep_id": f"rep-{rng.randint(0, 99):03d}", "team": "north-sales"},
                "depth": rng.choice(["light", "value", "deep"]),
                "source": "import-bench",
                "external_id": f"imp-{tag}-{n}",
            }
            out.write(orjson.dumps(touch) + b"\n")


@dataclass(frozen=True, slots=True)
class ImportResult:
    lines: int
    created: int
    rejected: int
    wall_seconds: float
    cli_rate: float
    peak_mib: float
    cpu_seconds: float  # the importer's
    cpu: CpuUse  # PostgreSQL's, and the share others took
    exit_code: int
    output: str

    @property
    def rows_per_second(self) -> float:
        """End to end, as a user sees it: process start to exit."""
        return self.created / self.wall_seconds if self.wall_seconds else 0.0

    @property
    def failed(self) -> bool:
        return self.exit_code != 0 or self.rejected > 0 or self.created != self.lines


def run_import(url: str, tenant: str, path: Path, lines: int, log: Path) -> ImportResult:
    argv = [TOUCHBASE, "import", str(path), "--tenant", tenant]
    env = {**os.environ, **service_env(url)}
    meter = CpuMeter([])
    started = time.perf_counter()
    with log.open("wb") as err:
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=err)
        assert proc.stdout is not None
        while True:  # the summary is one line at the end: no pipe to drain meanwhile
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            meter.sample()
            time.sleep(0.1)
        stdout = proc.stdout.read()
    elapsed = time.perf_counter() - started
    cpu = meter.stop()
    proc.returncode = os.waitstatus_to_exitcode(status)
    output = stdout.decode()
    found = SUMMARY.search(output)
    created, rejected, rate = (
        (int(found.group(1)), int(found.group(3)), float(found.group(4))) if found else (0, 0, 0)
    )
    return ImportResult(
        lines=lines,
        created=created,
        rejected=rejected,
        wall_seconds=elapsed,
        cli_rate=rate,
        peak_mib=usage.ru_maxrss / 1024,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        cpu=cpu,
        exit_code=proc.returncode,
        output=output.strip(),
    )
