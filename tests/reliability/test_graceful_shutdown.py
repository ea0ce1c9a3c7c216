"""Graceful shutdown: SIGTERM to ``touchbase serve`` during load completes in-flight requests."""

import dataclasses
import signal
import tempfile
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.checks import NothingLostChecks
from tests.reliability.load import Load
from tests.reliability.profiles import PROFILES, Profile
from tests.reliability.scenarios import Outcome, fresh_database, sigterm_during_load, summarize
from tests.reliability.service import Service, create_key
from tests.reliability.stored import snapshot

ACCESS_LOG = "touchbase.access"


@pytest.fixture(scope="class")
async def outcome(profile: Profile) -> Outcome:
    # Bigger batches than elsewhere, so that several requests are being worked on at SIGTERM.
    heavier = dataclasses.replace(profile, max_batch=max(profile.max_batch, 300), single_share=0.3)
    tenant = f"sigterm-{uuid.uuid4().hex[:8]}"
    facts: dict[str, Any] = {}
    async with fresh_database() as url:
        with tempfile.TemporaryDirectory(prefix="touchbase-serve-") as log_dir:
            service = Service(url, Path(log_dir))
            try:
                service.start()
                load = Load(service.url, create_key(url, tenant), heavier)

                async def scenario(load: Load) -> None:
                    await sigterm_during_load(load, service, facts)

                report = await load.run(scenario)
            finally:
                service.stop()
            logs = {g: service.log_entries(g) for g in range(1, service.generation + 1)}
        stored = await snapshot(url, tenant)
    result = Outcome(profile, report, stored, logs, **facts)
    summarize("SIGTERM during load", result)
    return result


@pytest.mark.parametrize("profile", PROFILES, indirect=True, scope="class")
class TestSigtermDuringLoad(NothingLostChecks):
    def test_sigterm_ends_the_service_by_itself_after_a_clean_shutdown(
        self, outcome: Outcome
    ) -> None:
        # uvicorn re-raises the SIGTERM it caught once it has shut down: -15 is that exit.
        assert outcome.exit_codes in ([0], [-signal.SIGTERM]), outcome.problems_logged()[:5]
        said = [str(e.get("msg")) for e in outcome.logs[1] if e.get("logger") == "uvicorn.error"]
        assert "Application shutdown complete." in said, said
        cancelled = [line for line in said if line.startswith("Cancel")]
        assert not cancelled, cancelled

    def test_requests_in_flight_at_sigterm_are_answered_with_2xx(self, outcome: Outcome) -> None:
        assert outcome.in_flight_at_sigterm, "no request was in flight at SIGTERM"
        attempts = outcome.report.by_request_id()
        answers = {rid: attempts[rid].describe() for rid in outcome.in_flight_at_sigterm}
        unanswered = {
            rid: text
            for rid, text in answers.items()
            if not 200 <= (attempts[rid].status or 0) < 300
        }
        assert not unanswered, "\n".join(
            [*unanswered.values(), *outcome.log_lines_for(set(unanswered))]
        )

    def test_every_request_the_stopping_service_took_gets_its_answer(
        self, outcome: Outcome
    ) -> None:
        attempts = outcome.report.by_request_id()
        taken = [e for e in outcome.logs[1] if e.get("logger") == ACCESS_LOG]
        assert taken
        lost = [
            f"logged {e['status']}, client saw {attempts[e['request_id']].describe()}"
            for e in taken
            if e.get("request_id") in attempts
            and attempts[e["request_id"]].status != e.get("status")
        ]
        assert not lost, "\n".join(lost[:10])

    def test_the_stopping_service_answers_no_request_with_a_server_error(
        self, outcome: Outcome
    ) -> None:
        failed = [
            e for e in outcome.logs[1] if e.get("logger") == ACCESS_LOG and e["status"] >= 500
        ]
        assert not failed, "\n".join(map(str, failed[:10]))

    def test_the_restarted_service_takes_over_the_retries(self, outcome: Outcome) -> None:
        restarted = outcome.report.events["restarted"][0]
        later = [
            a
            for a in outcome.report.attempts
            if a.started > restarted and a.status is not None and 200 <= a.status < 300
        ]
        assert later, "no call was acknowledged by the restarted service"
