"""Running wrk with the bench's Lua scripts, and reading its result line."""

import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

LUA_DIR = Path(__file__).parent / "lua"
RESULT = re.compile(r"^BENCH_RESULT (.*)$", re.MULTILINE)
CODES = re.compile(r"^BENCH_CODES (.*)$", re.MULTILINE)  # non-2xx answers by status code
ERROR_KINDS = ("connect", "read", "write", "status", "timeout")


@dataclass(frozen=True, slots=True)
class Load:
    """How hard to push: the same for every HTTP scenario, so that ratios are fair."""

    connections: int = 32
    threads: int = 2
    seconds: float = 10.0
    warmup_seconds: float = 3.0
    timeout_seconds: int = 30


@dataclass(slots=True)
class WrkResult:
    requests: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: dict[str, int] = field(default_factory=dict)
    codes: dict[int, int] = field(default_factory=dict)  # scripts that count them (post_batch)
    output: str = ""

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def failed(self) -> bool:
        return self.requests == 0 or any(self.errors.values())

    def error_text(self) -> str:
        parts = [f"{kind}={n}" for kind, n in self.errors.items() if n]
        if self.codes:
            parts.append("answers " + ", ".join(f"{c}: {n}" for c, n in sorted(self.codes.items())))
        return ", ".join(parts) or ("no requests completed" if self.requests == 0 else "")


def ensure_wrk() -> str:
    """The wrk binary; installs Debian's package when it is missing."""
    found = shutil.which("wrk")
    if found:
        return found
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    install = [*sudo, "apt-get", "install", "-y", "-q", "wrk"]
    print("wrk is missing: " + " ".join(install), flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.run(install, env=env, check=False).returncode != 0:
        subprocess.run([*sudo, "apt-get", "update", "-q"], env=env, check=True)
        subprocess.run(install, env=env, check=True)
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("wrk could not be installed")
    return found


def run(
    url: str, script: str, load: Load, env: Mapping[str, str], *, seconds: float | None = None
) -> WrkResult:
    """One wrk run of ``bench/lua/<script>.lua`` against ``url``."""
    duration = seconds if seconds is not None else load.seconds
    argv = [
        ensure_wrk(),
        f"-t{load.threads}",
        f"-c{load.connections}",
        f"-d{duration:g}s",
        f"--timeout={load.timeout_seconds}s",
        "--latency",
        "-s",
        str(LUA_DIR / f"{script}.lua"),
        url,
    ]
    full_env = {**os.environ, "BENCH_LUA": str(LUA_DIR), **env}
    done = subprocess.run(
        argv, env=full_env, capture_output=True, text=True, check=False, timeout=duration + 120
    )
    output = done.stdout + done.stderr
    return parse(output)


def parse(output: str) -> WrkResult:
    found = RESULT.search(output)
    if found is None:
        raise RuntimeError(f"wrk printed no result line:\n{output}")
    values = {k: float(v) for k, v in (item.split("=") for item in found.group(1).split())}
    codes: dict[int, int] = {}
    for line in CODES.findall(output):
        for item in line.split():
            code, count = item.split("=")
            codes[int(code)] = codes.get(int(code), 0) + int(count)
    return WrkResult(
        requests=int(values["requests"]),
        seconds=values["duration_us"] / 1e6,
        p50_ms=values["p50_us"] / 1000,
        p90_ms=values["p90_us"] / 1000,
        p99_ms=values["p99_us"] / 1000,
        max_ms=values["max_us"] / 1000,
        errors={kind: int(values[kind]) for kind in ERROR_KINDS},
        codes=codes,
        output=output,
    )
