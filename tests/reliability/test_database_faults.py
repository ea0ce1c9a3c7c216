"""Database faults: PostgreSQL (a private instance) stops and starts again during the load."""

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.reliability.checks import NothingLostChecks
from tests.reliability.load import Load
from tests.reliability.postgres import private_postgres
from tests.reliability.profiles import PROFILES, Profile
from tests.reliability.scenarios import Outcome, Prober, database_outages, summarize
from tests.reliability.service import create_key, migrate, served
from tests.reliability.stored import snapshot

TENANT = "t"


@pytest.fixture(scope="class")
async def outcome(profile: Profile, postgres_bin: Path) -> AsyncIterator[Outcome]:
    with private_postgres(postgres_bin) as postgres:
        migrate(postgres.url)
        key = create_key(postgres.url, TENANT)
        with served(postgres.url) as service:
            pid = service.pid
            headers = {"Authorization": f"Bearer {key}"}
            async with httpx.AsyncClient(
                base_url=service.url, headers=headers, timeout=15
            ) as client:
                prober = Prober(client)
                await prober.prepare()
                load = Load(service.url, key, profile, seed=uuid.uuid4().int % 1000)

                async def scenario(load: Load) -> None:
                    await database_outages(load, postgres, prober)

                report = await load.run(scenario)
            running = service.is_running() and service.pid == pid
            logs = {service.generation: service.log_entries()}
            stored = await snapshot(postgres.url, TENANT)
        result = Outcome(profile, report, stored, logs, prober.probes, pids=[pid])
        result.probe_keys = prober.keys
        result.service_running_at_end = running
        summarize(f"postgres stopped {profile.outages}x", result)
        yield result


@pytest.mark.parametrize("profile", PROFILES, indirect=True, scope="class")
class TestPostgresStopsAndStartsDuringLoad(NothingLostChecks):
    def test_v1_calls_answer_503_with_retry_after_while_postgres_is_down(
        self, outcome: Outcome
    ) -> None:
        down = [p for p in outcome.probes if p.phase == "down" and p.path.startswith("/v1")]
        assert down, "no /v1 call was made while PostgreSQL was down"
        wrong = [
            p
            for p in down
            if p.status != 503
            or p.retry_after is None
            or not (p.content_type or "").startswith("application/problem+json")
        ]
        assert not wrong, "\n".join(p.describe() for p in wrong[:10])

    def test_readyz_answers_503_while_postgres_is_down(self, outcome: Outcome) -> None:
        ready = [p for p in outcome.probes if p.phase == "down" and p.path == "/readyz"]
        assert ready
        assert all(p.status == 503 for p in ready), "\n".join(p.describe() for p in ready)

    def test_healthz_answers_200_while_postgres_is_down(self, outcome: Outcome) -> None:
        health = [p for p in outcome.probes if p.phase == "down" and p.path == "/healthz"]
        assert health
        assert all(p.status == 200 for p in health), "\n".join(p.describe() for p in health)

    def test_the_service_recovers_by_itself_without_a_restart(self, outcome: Outcome) -> None:
        assert outcome.service_running_at_end, "the service process died or was replaced"
        starts = outcome.report.events.get("db-started", [])
        ready = outcome.report.events.get("ready-again", [])
        assert len(ready) == len(starts) == outcome.profile.outages, (
            f"{len(starts)} restarts of PostgreSQL, /readyz 200 again after {len(ready)}"
        )

    def test_v1_calls_succeed_once_ready_again(self, outcome: Outcome) -> None:
        up = [p for p in outcome.probes if p.phase == "up"]
        assert up
        failed = [p for p in up if p.status is None or p.status >= 300]
        assert not failed, "\n".join(p.describe() for p in failed)

    def test_clients_get_touches_acknowledged_after_each_restart(self, outcome: Outcome) -> None:
        last_start = outcome.report.events["db-started"][-1]
        later = [
            a
            for a in outcome.report.attempts
            if a.started > last_start and a.status is not None and 200 <= a.status < 300
        ]
        assert later, "no call succeeded after PostgreSQL came back"
