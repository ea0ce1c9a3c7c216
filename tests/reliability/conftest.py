"""Reliability fixtures: the long (soak) versions run only when ``-m`` selects them."""

from pathlib import Path

import pytest

from tests.reliability.postgres import binaries
from tests.reliability.profiles import Profile
from tests.reliability.scenarios import SUMMARIES


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave the soak tests out unless the mark expression asks for them (``make soak``)."""
    if "soak" in (config.getoption("markexpr") or ""):
        return
    keep = [item for item in items if item.get_closest_marker("soak") is None]
    dropped = [item for item in items if item.get_closest_marker("soak") is not None]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if SUMMARIES:
        terminalreporter.section("reliability")
        for line in SUMMARIES:
            terminalreporter.write_line(line)


@pytest.fixture(scope="class")
def profile(request: pytest.FixtureRequest) -> Profile:
    """The scenario's profile, from the class's ``parametrize("profile", PROFILES, ...)``."""
    chosen: Profile = request.param
    return chosen


@pytest.fixture(scope="session")
def postgres_bin() -> Path:
    found = binaries()
    if found is None:
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl) under /usr/lib/postgresql")
    return found
