"""Load with nothing lost: concurrent clients post single touches and batches, retrying."""

import uuid
from collections.abc import AsyncIterator

import pytest

from tests.reliability.checks import NothingLostChecks, explain
from tests.reliability.load import Load
from tests.reliability.profiles import PROFILES, Profile
from tests.reliability.scenarios import Outcome, fresh_database, steady_load, summarize
from tests.reliability.service import create_key, served
from tests.reliability.stored import snapshot


@pytest.fixture(scope="class")
async def outcome(profile: Profile) -> AsyncIterator[Outcome]:
    tenant = f"load-{uuid.uuid4().hex[:8]}"
    async with fresh_database() as url:
        with served(url) as service:
            load = Load(service.url, create_key(url, tenant), profile)
            report = await load.run(steady_load)
            stored = await snapshot(url, tenant)
            logs = {service.generation: service.log_entries()}
        result = Outcome(profile, report, stored, logs)
        summarize("steady load", result)
        yield result


@pytest.mark.parametrize("profile", PROFILES, indirect=True, scope="class")
class TestSteadyLoad(NothingLostChecks):
    def test_no_attempt_fails_when_nothing_goes_wrong(self, outcome: Outcome) -> None:
        failed = [
            c for c in outcome.report.calls if any(a.status not in (200, 201) for a in c.attempts)
        ]
        assert not failed, f"{len(failed)} calls needed a retry:\n  " + explain(outcome, failed)

    def test_the_service_logs_no_error(self, outcome: Outcome) -> None:
        problems = outcome.problems_logged()
        assert not problems, "\n".join(problems[:10])
