"""The checks every load scenario must pass: nothing acknowledged lost, nothing doubled."""

from tests.reliability.load import Call
from tests.reliability.scenarios import Outcome
from tests.reliability.stored import lost_or_changed, unexpected_rows

SHOWN = 5  # failing calls described in full in a message


def explain(outcome: Outcome, calls: list[Call]) -> str:
    """The calls, every attempt's answer, and the service's log lines for those attempts."""
    parts = []
    for call in calls[:SHOWN]:
        ids = {attempt.request_id for attempt in call.attempts}
        logged = outcome.log_lines_for(ids)
        parts.append(call.describe() + "".join(f"\n      log: {line}" for line in logged[:10]))
    more = f"\n  ... and {len(calls) - SHOWN} more" if len(calls) > SHOWN else ""
    return "\n  ".join(parts) + more


def calls_of(outcome: Outcome, keys: set[tuple[str, str]]) -> list[Call]:
    return [c for c in outcome.report.calls if any(k in keys for k in c.acked)]


class NothingLostChecks:
    """Mixed into each scenario's test class; its ``outcome`` fixture runs the scenario once."""

    def test_some_touches_were_acknowledged(self, outcome: Outcome) -> None:
        assert outcome.report.acked, outcome.report.summary()

    def test_every_acknowledged_touch_is_stored_with_the_id_it_was_acknowledged_with(
        self, outcome: Outcome
    ) -> None:
        problems = lost_or_changed(outcome.report, outcome.stored)
        assert not problems, (
            f"{len(problems)} acknowledged touches lost or changed "
            f"({outcome.report.summary()}):\n  " + "\n  ".join(problems[:20])
        )

    def test_no_touch_is_stored_twice_or_without_being_sent(self, outcome: Outcome) -> None:
        stored = outcome.stored
        assert stored.rows == len(stored.touches), "a (source, external_id) is stored twice"
        strangers = unexpected_rows(outcome.report, stored, outcome.probe_keys)
        assert not strangers, f"{len(strangers)} stored touches nobody sent: {strangers[:10]}"

    def test_day_counts_equal_a_recount_of_the_stored_contacts(self, outcome: Outcome) -> None:
        off = outcome.stored.count_mismatches
        assert not off, (
            f"{len(off)} customer_day_counts rows differ from a recount of touches "
            "[outbound, outbound_automated, inbound, light, value, deep]:\n  "
            + "\n  ".join(str(row) for row in off[:20])
        )

    def test_every_call_is_acknowledged_in_the_end(self, outcome: Outcome) -> None:
        unacknowledged = outcome.report.unacknowledged
        assert not unacknowledged, (
            f"{len(unacknowledged)} calls never acknowledged although retried for "
            f"{outcome.profile.give_up_seconds} s after the load:\n  "
            + explain(outcome, unacknowledged)
        )

    def test_clients_get_no_error_but_503_with_retry_after_as_a_problem_document(
        self, outcome: Outcome
    ) -> None:
        bad = [call for call in outcome.report.calls if call.violations]
        found = sorted({violation for call in bad for violation in call.violations})
        assert not bad, f"{len(bad)} calls got bad answers: {found[:SHOWN]}\n  " + explain(
            outcome, bad
        )
