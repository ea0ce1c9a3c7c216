"""One HTTP scenario: a probe request, a warm-up, the measured wrk run, the server's peak memory."""

import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from bench import wrk
from bench.procs import CpuMeter, CpuUse, Server, http, peak_mib, reset_peak
from bench.report import Figure


@dataclass(frozen=True, slots=True)
class Probe:
    """One request made before the load, to check that the scenario answers as it should."""

    method: str
    path: str
    body: bytes | None = None
    expect: tuple[int, ...] = (200,)
    timeout: float = 60  # seconds


@dataclass(slots=True)
class Scenario:
    name: str
    what: str
    script: str
    probe: Probe
    path: str = ""  # appended to the base URL given to wrk (static GETs)
    env: dict[str, str] = field(default_factory=dict)
    rows_per_request: int = 0  # batch ingest: rows/s = req/s x this
    check: Callable[[str, int], str | None] | None = None  # (run tag, requests) -> problem
    connections: int = 0  # other than the run's fixed count (0: the fixed count)
    informational: bool = False  # shown, but feeds no target and fails no run
    timed_probe: bool = False  # the probe's time (one request, the server idle) in ``seconds``


@dataclass(slots=True)
class Runner:
    base_url: str
    server: Server
    load: wrk.Load
    headers: dict[str, str]
    common_env: dict[str, str]
    profile_dir: Path | None = None

    def run(self, s: Scenario) -> Figure:
        probe = f"{s.name}: probe {s.probe.method} {s.probe.path}"
        started = time.perf_counter()
        try:
            status, body = http(
                s.probe.method, self.base_url + s.probe.path, s.probe.body, self.headers,
                timeout=s.probe.timeout,
            )  # fmt: skip
        except OSError as exc:  # no answer in time, or a socket error
            alone = time.perf_counter() - started
            print(f"{probe} -> {exc} after {alone:.1f} s", flush=True)
            figure = Figure(s.name, s.what, state=f"failed: probe: {exc}")
            figure.seconds = alone if s.timed_probe else None
            return figure
        alone = time.perf_counter() - started
        if s.timed_probe:
            print(f"{probe} -> {status} in {alone:.2f} s (one request alone)", flush=True)
        if status not in s.probe.expect:
            text = body[:300].decode(errors="replace")
            print(f"{probe} -> {status}: {text}", flush=True)
            figure = Figure(s.name, s.what, state=f"failed: probe answered {status}")
            figure.seconds = alone if s.timed_probe else None
            return figure
        result, cpu = self._measure(s)
        figure = Figure(s.name, s.what, peak_mib=peak_mib(self.server.pids()))
        figure.seconds = alone if s.timed_probe else None
        figure.informational = s.informational
        figure.others_pct = cpu.others_share * 100
        if result.requests:
            figure.app_cpu_ms = cpu.app * 1000 / result.requests
            figure.pg_cpu_ms = cpu.pg * 1000 / result.requests
        problem = result.error_text() if result.failed else None
        if problem is None and s.check is not None:
            problem = s.check(f"{s.name}-run", result.requests)
        if problem:
            figure.state = f"failed: {problem}"
            print(f"{s.name}: FAILED ({problem}); wrk said:\n{result.output}", flush=True)
            return figure
        figure.rps, figure.p50_ms, figure.p99_ms = result.rps, result.p50_ms, result.p99_ms
        if s.rows_per_request:
            figure.rows_per_s = result.rps * s.rows_per_request
        print_figure(figure)
        return figure

    def _measure(self, s: Scenario) -> tuple[wrk.WrkResult, CpuUse]:
        """Warm up, then the measured run, with the server's peak memory and CPU."""
        env = {**self.common_env, **s.env}
        url = self.base_url + s.path
        load = self.load
        if s.connections:
            threads = min(load.threads, s.connections)
            load = replace(load, connections=s.connections, threads=threads)
        wrk.run(url, s.script, load, {**env, "BENCH_RUN": f"{s.name}-warm"},
                seconds=load.warmup_seconds)  # fmt: skip
        reset_peak(self.server.pids())
        profiler = self._profile(s.name)
        meter = CpuMeter(self.server.pids())
        result = wrk.run(url, s.script, load, {**env, "BENCH_RUN": f"{s.name}-run"})
        if profiler is not None:
            profiler.wait()
        return result, meter.stop()

    def _profile(self, name: str) -> subprocess.Popen[bytes] | None:
        """With --profile: py-spy records the server during the measured run."""
        if self.profile_dir is None:
            return None
        spy = shutil.which(str(Path(sys.executable).with_name("py-spy"))) or shutil.which("py-spy")
        if spy is None:
            print("py-spy not found; --profile ignored", flush=True)
            self.profile_dir = None
            return None
        out = self.profile_dir / f"{name}.txt"
        argv = [
            spy, "record", "--pid", str(self.server.pid), "--duration", f"{self.load.seconds:.0f}",
            "--rate", "200", "--format", "raw", "--subprocesses", "--output", str(out),
        ]  # fmt: skip
        return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def print_figure(f: Figure) -> None:
    rows = f", {f.rows_per_s:,.0f} rows/s" if f.rows_per_s else ""
    state = "" if f.ok else f" ({f.state})"
    print(
        f"{f.name}: {f.rps or 0:,.1f} req/s{rows}, p50 {f.p50_ms or 0:.2f} ms,"
        f" p99 {f.p99_ms or 0:.2f} ms, peak {f.peak_mib or 0:.1f} MiB, CPU per request:"
        f" {f.app_cpu_ms or 0:.2f} ms server, {f.pg_cpu_ms or 0:.2f} ms PostgreSQL{state}",
        flush=True,
    )
