"""Figures, targets as ratios, the machine, and the results file."""

import os
import platform
import subprocess
from dataclasses import dataclass
from pathlib import Path

Number = float | None
# Where the time goes and why targets are missed: written by hand, appended to every results file.
ANALYSIS = Path(__file__).resolve().parent / "ANALYSIS.md"


@dataclass(slots=True)
class Figure:
    """One measured scenario. ``state`` is "ok", "failed: ..." or "not available"."""

    name: str
    what: str
    rps: Number = None
    rows_per_s: Number = None
    p50_ms: Number = None
    p99_ms: Number = None
    seconds: Number = None  # a one-off duration: a bulk load, the refresher's drain after it
    peak_mib: Number = None
    app_cpu_ms: Number = None  # CPU of the server (or client) per request or per 1,000 rows
    pg_cpu_ms: Number = None  # CPU of PostgreSQL, likewise
    others_pct: Number = None  # share of the machine busy with other work meanwhile
    state: str = "ok"
    informational: bool = False  # feeds no target; its failure does not fail the run

    @property
    def ok(self) -> bool:
        return self.state == "ok"

    @property
    def failed(self) -> bool:
        return self.state.startswith("failed") and not self.informational


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    ratio: Number
    goal: float
    at_most: bool = False  # met when ratio <= goal (latency ratios), else when >= goal
    skipped: str = ""

    @property
    def met(self) -> bool:
        if self.ratio is None:
            return False
        return self.ratio <= self.goal if self.at_most else self.ratio >= self.goal

    def line(self) -> str:
        ratio = "n/a" if self.ratio is None else f"{self.ratio:.2f}"
        verdict = "met" if self.met else "missed"
        if self.skipped:
            verdict = f"skipped ({self.skipped})"
        return f"target {self.name} ratio={ratio} goal={self.goal:g} {verdict}"


def ratio(service: Number, ceiling: Number) -> Number:
    if service is None or ceiling is None or ceiling == 0:
        return None
    return service / ceiling


def _cell(value: Number, digits: int = 1) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def table(figures: list[Figure]) -> str:
    head = (
        "| scenario | what | req/s | rows/s | p50 ms | p99 ms | s | peak MiB | CPU ms app"
        " | CPU ms PG | others % | state |"
    )
    lines = [head, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for f in figures:
        cells = [
            f.name, f.what, _cell(f.rps), _cell(f.rows_per_s, 0), _cell(f.p50_ms, 2),
            _cell(f.p99_ms, 2), _cell(f.seconds), _cell(f.peak_mib), _cell(f.app_cpu_ms, 2),
            _cell(f.pg_cpu_ms, 2), _cell(f.others_pct, 0), f.state,
        ]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _run(argv: list[str]) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return "?"


def machine(pg_version: str) -> dict[str, str]:
    cpu = "?"
    mem = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    root = Path(__file__).resolve().parent.parent
    commit = _run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"])
    dirty = _run(["git", "-C", str(root), "status", "--porcelain"])
    return {
        "date": _run(["date", "-u"]),
        "nproc": _run(["nproc"]) or str(os.cpu_count()),
        "memory": mem,
        "cpu": cpu,
        "postgresql": pg_version,
        "python": platform.python_version(),
        "wrk": _run(["wrk", "--version"]).splitlines()[0] if _run(["which", "wrk"]) else "?",
        "commit": commit + (" (with uncommitted changes)" if dirty else ""),
    }


def markdown(
    info: dict[str, str],
    method: list[str],
    figures: list[Figure],
    targets: list[Target],
    notes: list[str],
) -> str:
    parts = ["# Benchmark results", ""]
    parts += ["## Machine", "", *[f"- {k}: {v}" for k, v in info.items()], ""]
    parts += ["## Method", "", *method, ""]
    parts += ["## Figures", "", table(figures), ""]
    parts += ["## Targets", "", "```", *[t.line() for t in targets], "```", ""]
    if notes:
        parts += ["## Notes", "", *[f"- {n}" for n in notes], ""]
    if ANALYSIS.exists():  # written by hand after profiling; kept across runs
        parts += [ANALYSIS.read_text().rstrip(), ""]
    return "\n".join(parts)
