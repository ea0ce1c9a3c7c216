"""How long and how hard: a short profile for ``make test``, a soak profile for ``make soak``."""

import os
from dataclasses import dataclass

import pytest


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    seconds: float  # how long clients start new calls
    clients: int
    max_batch: int
    customers: int
    single_share: float = 0.5  # calls that are single POSTs, the rest batches
    outages: int = 1  # database stops and starts during the fault scenario
    outage_seconds: float = 1.5  # how long each stop lasts
    give_up_seconds: float = 45.0  # after the load: how long calls may still retry
    fuzz_examples: int = 5  # schemathesis examples per operation


SHORT = Profile(
    name="short", seconds=3.0, clients=4, max_batch=40, customers=10, give_up_seconds=20.0
)


def soak() -> Profile:
    """The long run; ``SOAK_SECONDS`` (default 120) sets its length."""
    seconds = float(os.environ.get("SOAK_SECONDS", "120"))
    return Profile(
        name="soak",
        seconds=seconds,
        clients=int(os.environ.get("SOAK_CLIENTS", "12")),
        max_batch=200,
        customers=200,
        outages=max(2, int(seconds // 30)),
        outage_seconds=6.0,
        give_up_seconds=120.0,
        fuzz_examples=int(os.environ.get("SOAK_FUZZ_EXAMPLES", "40")),
    )


PROFILES = [
    pytest.param(SHORT, id="short"),
    pytest.param(soak(), id="soak", marks=pytest.mark.soak),
]
