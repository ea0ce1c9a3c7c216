"""Fatigue signals (open rates, unsubscribes, complaints) and suppression."""

from datetime import date, datetime, timedelta

import pytest

from app.cadence import Signal, SignalKind, evaluate
from app.cadence.fatigue import (
    FOREVER,
    complaint_pauses,
    fatigue_of,
    is_falling,
    is_opted_out,
    opted_out_of_all,
    suppressions,
)
from app.cadence.types import WELL_KNOWN_CHANNELS, ContactEvent, Fatigue
from app.cadence.windows import Counter
from tests.unit.cadence import activity_from, bucketed, inb, make_policy, make_profile, out, utc

AS_OF = utc(2026, 11, 20, 3)
RECENT_START = AS_OF - timedelta(days=30)  # 21 October 03:00, belongs to "before"
BEFORE_START = AS_OF - timedelta(days=90)
JUDGED_UNTIL = AS_OF - timedelta(hours=48)  # younger emails are not judged yet


def emails(start: datetime, engaged: list[bool]) -> list[ContactEvent]:
    return [out(start + timedelta(days=i + 1), engaged=e) for i, e in enumerate(engaged)]


def rates(events: list[ContactEvent]) -> tuple[float | None, float | None]:
    exact = activity_from(events)
    fatigue = fatigue_of(exact, Counter(exact), AS_OF)
    edges = [d.date() for d in (AS_OF, JUDGED_UNTIL, RECENT_START, BEFORE_START)]
    partial = bucketed(exact, edges)
    assert fatigue_of(partial, Counter(partial), AS_OF) == fatigue
    return fatigue.open_rate_recent, fatigue.open_rate_before


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        ([], (None, None)),
        (emails(RECENT_START, [True, True]), (None, None)),  # fewer than 3 emails
        (emails(RECENT_START, [True, False, False]), (0.3333, None)),
        (emails(RECENT_START, [True, False, True, False]), (0.5, None)),
        (emails(BEFORE_START, [True, True, False]), (None, 0.6667)),
        (
            emails(RECENT_START, [True, False, False, False])
            + emails(BEFORE_START, [True, True, True]),
            (0.25, 1.0),
        ),
        # inbound emails and other channels are no email sent
        (
            [
                *emails(RECENT_START, [True, True]),
                inb(AS_OF - timedelta(days=1), "email"),
                out(AS_OF, "phone", engaged=True),
            ],
            (None, None),
        ),
        # automated emails are emails sent
        (
            [out(AS_OF - timedelta(days=d), automated=True, engaged=d == 2) for d in (2, 3, 4)],
            (0.3333, None),
        ),
        # emails of the last 48 hours are not judged yet: one exactly 48 hours old is
        (
            [
                out(JUDGED_UNTIL + timedelta(seconds=1)),
                out(AS_OF),
                out(JUDGED_UNTIL, engaged=True),
                *emails(RECENT_START, [False, False]),
            ],
            (0.3333, None),
        ),
        (
            [out(AS_OF - timedelta(hours=h)) for h in (1, 5, 9)],  # three emails this morning
            (None, None),
        ),
        # an email exactly 30 days old is "before"; one exactly 90 days old is gone
        (
            [
                out(RECENT_START, engaged=True),
                out(BEFORE_START, engaged=True),
                *emails(RECENT_START + timedelta(days=-20), [False, False]),
            ],
            (None, 0.3333),
        ),
    ],
)
def test_open_rates(
    events: list[ContactEvent], expected: tuple[float | None, float | None]
) -> None:
    assert rates(events) == expected


@pytest.mark.parametrize(
    ("recent", "before", "falling"),
    [
        (0.25, 1.0, True),
        (0.5, 1.0, False),  # not below half
        (0.49, 1.0, True),
        (0.0, 0.0, False),
        (None, 1.0, False),
        (0.1, None, False),
    ],
)
def test_falling_engagement(recent: float | None, before: float | None, falling: bool) -> None:
    assert is_falling(Fatigue((), 0, recent, before)) is falling


def test_falling_engagement_makes_the_customer_over_contacted() -> None:
    events = emails(RECENT_START, [True, False, False, False]) + emails(
        BEFORE_START, [True, True, True]
    )
    status = evaluate(make_policy(), make_profile(), activity_from(events), AS_OF)
    assert status.status == "over_contacted"
    assert [r.code for r in status.reasons][:1] == ["falling_engagement"]
    assert status.recheck_at is not None
    assert status.over_until == status.recheck_at


def _signal(kind: SignalKind, at: datetime, channel: str = "email") -> Signal:
    return Signal(at=at, kind=kind, channel=channel)


def test_complaints_and_unsubscribes() -> None:
    signals = [
        _signal(SignalKind.complained, AS_OF - timedelta(days=89)),
        _signal(SignalKind.complained, AS_OF - timedelta(days=90)),  # 90 days: out
        _signal(SignalKind.complained, AS_OF + timedelta(seconds=1)),  # after as_of
        _signal(SignalKind.unsubscribed, AS_OF - timedelta(days=400), "sms"),
        _signal(SignalKind.unsubscribed, AS_OF, "email"),
        _signal(SignalKind.unsubscribed, AS_OF + timedelta(days=1), "phone"),
    ]
    activity = activity_from([], signals=signals)
    fatigue = fatigue_of(activity, Counter(activity), AS_OF)
    assert fatigue == Fatigue(("email", "sms"), 1, None, None)


@pytest.mark.parametrize(
    ("opted_out", "all_", "email"),
    [
        (frozenset(), False, False),
        (frozenset({"email"}), False, True),
        (frozenset({"all"}), True, True),
        (WELL_KNOWN_CHANNELS, True, True),
        (WELL_KNOWN_CHANNELS - {"letter"}, False, True),
        (frozenset({"phone", "fax"}), False, False),
    ],
)
def test_opting_out(opted_out: frozenset[str], all_: bool, email: bool) -> None:
    profile = make_profile(opted_out_channels=opted_out)
    assert opted_out_of_all(profile) is all_
    assert is_opted_out(profile, "email") is email


def test_opted_out_of_all_is_suppressed_forever() -> None:
    profile = make_profile(opted_out_channels=WELL_KNOWN_CHANNELS)
    status = evaluate(make_policy(), profile, activity_from([out(AS_OF)]), AS_OF)
    assert status.status == "suppressed"
    assert [r.code for r in status.reasons] == ["opted_out_all"]
    assert status.suppressed_until == FOREVER
    assert not status.contactable_now


@pytest.mark.parametrize(
    ("paused_until", "suppressed"),
    [
        (None, False),
        (AS_OF - timedelta(seconds=1), False),
        (AS_OF, False),  # the pause ends at paused_until
        (AS_OF + timedelta(seconds=1), True),
    ],
)
def test_paused_until(paused_until: datetime | None, suppressed: bool) -> None:
    profile = make_profile(paused_until=paused_until)
    found = suppressions(make_policy(), profile, activity_from([]), AS_OF)
    assert [c.reason.code for c in found] == (["paused"] if suppressed else [])
    status = evaluate(make_policy(), profile, activity_from([out(AS_OF)]), AS_OF)
    assert (status.status == "suppressed") is suppressed
    if suppressed:
        assert status.suppressed_until == paused_until
        assert status.reasons[0].until == paused_until


def test_a_complaint_pauses_the_channel_it_came_from_only() -> None:
    policy = make_policy(complaint_pause_days=60, fatigue_days=30)
    complained_at = AS_OF - timedelta(days=10)
    activity = activity_from(
        [out(AS_OF - timedelta(days=11))],
        signals=[_signal(SignalKind.complained, complained_at, "email")],
    )
    end = complained_at + timedelta(days=60)
    assert complaint_pauses(policy, activity, AS_OF) == {"email": end}
    assert complaint_pauses(policy, activity, end) == {}
    profile = make_profile(preferred_channels=("email",))
    status = evaluate(policy, profile, activity, AS_OF)
    assert status.status == "over_contacted"  # a complaint within fatigue_days
    assert [r.code for r in status.reasons][:2] == ["recent_complaint", "complaint_pause"]
    assert status.reasons[1].until == end
    assert status.suppressed_until is None
    assert status.contactable_now  # the owner may call and apologise
    assert status.next_follow_up.channel == "phone"  # the preferred email is paused
    assert status.next_follow_up.earliest_at < end
    later = evaluate(policy, profile, activity, complained_at + timedelta(days=30))
    assert later.status == "overdue"  # the complaint is no longer recent; email still paused
    assert "complaint_pause" in [r.code for r in later.reasons]
    assert later.recheck_at == end
    after = evaluate(policy, profile, activity, end)
    assert "complaint_pause" not in [r.code for r in after.reasons]
    assert after.next_follow_up.channel == "email"


def test_a_complaint_pointing_at_no_open_channel_left_suppresses_until_a_pause_ends() -> None:
    policy = make_policy(complaint_pause_days=60, fatigue_days=30)
    profile = make_profile(opted_out_channels=WELL_KNOWN_CHANNELS - {"email", "phone"})
    activity = activity_from(
        [out(AS_OF - timedelta(days=11))],
        signals=[
            _signal(SignalKind.complained, AS_OF - timedelta(days=10), "email"),
            _signal(SignalKind.complained, AS_OF - timedelta(days=5), "phone"),
        ],
    )
    status = evaluate(policy, profile, activity, AS_OF)
    first_end = AS_OF + timedelta(days=50)
    assert status.status == "suppressed"
    assert [r.code for r in status.reasons][:2] == ["complaint_pause", "recent_complaint"]
    assert status.suppressed_until == first_end
    assert not status.contactable_now
    reopened = evaluate(policy, profile, activity, first_end)
    assert reopened.status == "overdue"
    assert reopened.next_follow_up.channel is None or reopened.next_follow_up.channel == "email"


@pytest.mark.parametrize(
    ("days_ago", "over"),
    [(0, True), (29, True), (30, False), (31, False)],
)
def test_an_unsubscribe_within_fatigue_days_makes_the_customer_over_contacted(
    days_ago: int, over: bool
) -> None:
    policy = make_policy(fatigue_days=30)
    at = AS_OF - timedelta(days=days_ago)
    activity = activity_from(
        [out(AS_OF - timedelta(days=1), "phone")],
        signals=[_signal(SignalKind.unsubscribed, at, "email")],
    )
    status = evaluate(policy, make_profile(), activity, AS_OF)
    assert (status.status == "over_contacted") is over
    codes = [r.code for r in status.reasons]
    assert ("recent_unsubscribe" in codes) is over
    if over:
        assert status.over_until == at + timedelta(days=30)
    assert status.fatigue.unsubscribed_channels == ("email",)


def test_the_recheck_follows_the_open_rate_windows() -> None:
    sent = AS_OF - timedelta(days=5)
    activity = activity_from([out(sent), out(sent, "phone")])
    status = evaluate(make_policy(), make_profile(), activity, AS_OF)
    assert status.recheck_at == sent + timedelta(days=30)
    partial = bucketed(activity, [AS_OF.date()])
    assert evaluate(make_policy(), make_profile(), partial, AS_OF).recheck_at == (
        datetime.combine(date(2026, 11, 15), datetime.min.time(), AS_OF.tzinfo) + timedelta(days=30)
    )
