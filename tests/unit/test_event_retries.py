"""When a failed event delivery is tried again (the contract's schedule of 5 s, 5 min, 30 min,
2 h, 5 h, 10 h and 10 h with jitter, then failed; ``Retry-After`` honoured), and what an answer
makes of a delivery: succeeded, a retry, failed, or (410) the endpoint disabled."""

from datetime import UTC, datetime, timedelta

import pytest

from app.events import retries
from app.events.delivery import Answer, Outcome, outcome_of
from app.events.retries import next_attempt_delay, parse_retry_after

NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
SCHEDULE = [
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
]
ALMOST_ONE = 1 - 1e-9
DAY = timedelta(hours=24)


class TestSchedule:
    def test_eight_attempts_in_all(self) -> None:
        """The first attempt and seven retries: the contract's schedule, as the module has it."""
        assert list(retries.RETRY_DELAYS) == SCHEDULE
        assert retries.MAX_ATTEMPTS == 8

    @pytest.mark.parametrize(("attempts", "delay"), list(enumerate(SCHEDULE, start=1)))
    def test_the_middle_of_the_jitter_band_is_the_schedule(
        self, attempts: int, delay: timedelta
    ) -> None:
        """At spread 0.5 the wait after the n-th failed attempt is the n-th delay, exactly."""
        assert next_attempt_delay(attempts, 0.5) == delay

    @pytest.mark.parametrize(("attempts", "delay"), list(enumerate(SCHEDULE, start=1)))
    def test_jitter_spreads_ten_percent_either_way(self, attempts: int, delay: timedelta) -> None:
        """Spread 0 waits 90% of the delay; spread just under 1 waits 110% (to the
        microsecond a timedelta keeps)."""
        assert next_attempt_delay(attempts, 0.0) == delay * 0.9
        longest = next_attempt_delay(attempts, ALMOST_ONE)
        assert longest is not None
        assert delay * 1.1 - timedelta(milliseconds=1) < longest <= delay * 1.1

    @pytest.mark.parametrize("attempts", [8, 9, 100])
    def test_no_retry_after_the_eighth_attempt(self, attempts: int) -> None:
        """After eight attempts the delivery has failed: no next attempt."""
        assert next_attempt_delay(attempts, 0.5) is None
        assert next_attempt_delay(attempts, 0.5, timedelta(seconds=10)) is None

    def test_every_delay_grows(self) -> None:
        """Even at the extremes of their jitter, each wait is longer than the one before."""
        for attempts in range(1, 6):
            shorter = next_attempt_delay(attempts, ALMOST_ONE)
            longer = next_attempt_delay(attempts + 1, 0.0)
            assert shorter is not None
            assert longer is not None
            assert shorter < longer


class TestRetryAfter:
    def test_a_longer_retry_after_lengthens_the_wait(self) -> None:
        """A receiver asking for 120 s after the first attempt (due in 5 s) waits 120 s."""
        assert next_attempt_delay(1, 0.5, timedelta(seconds=120)) == timedelta(seconds=120)
        assert next_attempt_delay(1, 0.0, timedelta(seconds=120)) == timedelta(seconds=120)

    def test_a_shorter_retry_after_never_shortens_it(self) -> None:
        """Asking for 10 s after the third attempt (due in 30 min) still waits 30 min."""
        assert next_attempt_delay(3, 0.5, timedelta(seconds=10)) == timedelta(minutes=30)
        assert next_attempt_delay(1, 0.5, timedelta(0)) == timedelta(seconds=5)

    def test_retry_after_is_honoured_up_to_a_day(self) -> None:
        """A receiver asking for two days waits one; asking for exactly a day waits a day."""
        assert next_attempt_delay(1, 0.5, 2 * DAY) == DAY
        assert next_attempt_delay(7, 0.5, DAY) == DAY
        assert next_attempt_delay(2, 0.5, 30 * DAY) == DAY


class TestBadArguments:
    @pytest.mark.parametrize("attempts", [0, -1])
    def test_attempts_counts_at_least_one(self, attempts: int) -> None:
        """There is no wait before the first attempt: asking for one is a mistake."""
        with pytest.raises(ValueError, match="attempts"):
            next_attempt_delay(attempts, 0.5)

    @pytest.mark.parametrize("spread", [-0.1, 1.0, 1.5])
    def test_spread_lies_in_zero_to_one(self, spread: float) -> None:
        """A spread outside [0, 1) is refused."""
        with pytest.raises(ValueError, match="spread"):
            next_attempt_delay(1, spread)

    def test_spread_is_checked_after_the_last_attempt_too(self) -> None:
        """A bad spread is a caller's mistake whatever the attempt: refused, not hidden behind
        the None that means no more tries."""
        with pytest.raises(ValueError, match="spread"):
            next_attempt_delay(8, 1.5)


class TestParseRetryAfter:
    @pytest.mark.parametrize(
        ("value", "seconds"),
        [("120", 120), ("0", 0), (" 30 ", 30), ("86400", 86400), ("86401", 86400),
         ("999999999999", 86400)],
    )  # fmt: skip
    def test_delay_seconds(self, value: str, seconds: int) -> None:
        """A number of seconds, capped at a day."""
        assert parse_retry_after(value) == timedelta(seconds=seconds)

    @pytest.mark.parametrize(
        "value",
        [None, "", "  ", "-5", "1.5", "+5", "soon", "12 0"],
    )
    def test_anything_else_is_ignored(self, value: str | None) -> None:
        """No header, a negative or fractional number, words: nothing to honour."""
        assert parse_retry_after(value) is None

    @pytest.mark.parametrize(
        "value",
        [
            pytest.param("\u00b2", id="superscript-two"),  # what the byte 0xb2 decodes to
            pytest.param("9" * 5000, id="five-thousand-digits"),
        ],
    )
    def test_a_receivers_odd_header_is_ignored_not_raised(self, value: str) -> None:
        """A receiver controls the header: a value that only looks like digits to
        ``str.isdigit`` (a superscript, another script's digit) or is too long to convert is
        ignored, never an exception in the delivery worker (which then records nothing)."""
        assert parse_retry_after(value) is None


class TestOutcomeOf:
    def test_a_2xx_succeeds(self) -> None:
        """An answer without an error: succeeded, nothing more to send."""
        assert outcome_of(1, Answer(200, None), NOW, 0.5) == Outcome("succeeded", None)
        assert outcome_of(8, Answer(204, None), NOW, 0.5) == Outcome("succeeded", None)

    def test_a_410_fails_and_disables_the_endpoint(self) -> None:
        """Gone: the delivery failed for good and the endpoint is disabled, whatever the
        attempt."""
        for attempt in (1, 8):
            outcome = outcome_of(attempt, Answer(410, "answered 410"), NOW, 0.5)
            assert outcome == Outcome("failed", None, disable_endpoint=True)

    @pytest.mark.parametrize(
        "answer",
        [
            pytest.param(Answer(500, "answered 500"), id="500"),
            pytest.param(Answer(302, "answered 302"), id="redirect"),
            pytest.param(Answer(404, "answered 404"), id="404"),
            pytest.param(Answer(None, "no answer within 15 s"), id="timeout"),
            pytest.param(Answer(None, "ConnectError: refused"), id="connect-error"),
        ],
    )
    def test_any_other_answer_is_retried_on_the_schedule(self, answer: Answer) -> None:
        """A failed first attempt is tried again 5 s later (at spread 0.5), the seventh
        10 h later; not disabling the endpoint."""
        assert outcome_of(1, answer, NOW, 0.5) == Outcome("pending", NOW + timedelta(seconds=5))
        assert outcome_of(7, answer, NOW, 0.5) == Outcome("pending", NOW + timedelta(hours=10))

    def test_the_eighth_failed_attempt_fails_the_delivery(self) -> None:
        """No ninth attempt: failed, the endpoint left enabled."""
        outcome = outcome_of(8, Answer(500, "answered 500"), NOW, 0.5)
        assert outcome == Outcome("failed", None, disable_endpoint=False)

    @pytest.mark.parametrize("status", [429, 503])
    def test_retry_after_is_honoured(self, status: int) -> None:
        """A 429 or 503 asking for 120 s is tried again 120 s later, not 5 s."""
        answer = Answer(status, f"answered {status}", timedelta(seconds=120))
        assert outcome_of(1, answer, NOW, 0.5) == Outcome("pending", NOW + timedelta(seconds=120))

    def test_jitter_comes_from_the_spread(self) -> None:
        """The caller's randomness picks the point in the band: 4.5 s to just under 5.5 s."""
        answer = Answer(500, "answered 500")
        assert outcome_of(1, answer, NOW, 0.0).next_attempt_at == NOW + timedelta(seconds=4.5)
        late = outcome_of(1, answer, NOW, ALMOST_ONE).next_attempt_at
        assert late is not None
        assert NOW + timedelta(seconds=5.49) < late <= NOW + timedelta(seconds=5.5)
