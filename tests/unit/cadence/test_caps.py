"""Caps (at most N outbound contacts in a rolling window) and targets (at least N contacts)."""

from datetime import date, datetime, timedelta

import pytest

from app.cadence import Activity, Cap, ContactEvent, Reservation, Target, evaluate
from app.cadence.caps import CapUse, CountedCap, cap_use, caps_of, target_state
from app.cadence.types import CapState, TargetState
from app.cadence.windows import Counter
from tests.unit.cadence import (
    activity_from,
    bucketed,
    inb,
    make_policy,
    make_profile,
    make_rule,
    out,
    utc,
)

AS_OF = utc(2026, 11, 20, 3)
RULE = make_rule()


def use(cap: Cap, activity: Activity, count_automated: bool = True) -> CapUse:
    rule = make_rule(count_automated=count_automated)
    return cap_use(CountedCap(cap, rule.count_automated), Counter(activity), AS_OF)


def state(
    window_days: int,
    max_: int,
    used: int,
    frees_at: datetime | None,
    channels: frozenset[str] | None = None,
) -> CapState:
    return CapState(window_days, max_, used, max(0, max_ - used), frees_at, channels)


WEEK_OF_CONTACTS = [
    out(utc(2026, 11, 12, 8)),  # outside the 7 days
    out(utc(2026, 11, 14, 8)),
    out(utc(2026, 11, 16, 8), "phone"),
    out(utc(2026, 11, 18, 8), automated=True),
    inb(utc(2026, 11, 19, 8)),  # inbound: uses no cap
]
PHONE = frozenset({"phone"})


@pytest.mark.parametrize(
    ("cap", "count_automated", "expected"),
    [
        (Cap(7, 5), True, state(7, 5, 3, None)),
        # reached at used == max: frees when the oldest counted contact leaves
        (Cap(7, 3), True, state(7, 3, 3, utc(2026, 11, 21, 8))),
        # exceeded at used > max: frees when the (used - max + 1)-th oldest leaves
        (Cap(7, 2), True, state(7, 2, 3, utc(2026, 11, 23, 8))),
        (Cap(7, 1), True, state(7, 1, 3, utc(2026, 11, 25, 8))),
        # max 0 never frees
        (Cap(7, 0), True, state(7, 0, 3, None)),
        # channels filter
        (Cap(7, 1, PHONE), True, state(7, 1, 1, utc(2026, 11, 23, 8), PHONE)),
        (Cap(7, 1, frozenset({"sms"})), True, state(7, 1, 0, None, frozenset({"sms"}))),
        # count_automated false leaves the automated email out
        (Cap(7, 2), False, state(7, 2, 2, utc(2026, 11, 21, 8))),
        # a wider window takes the older contact too
        (Cap(30, 4), True, state(30, 4, 4, utc(2026, 12, 12, 8))),
    ],
)
def test_cap_states(cap: Cap, count_automated: bool, expected: CapState) -> None:
    activity = activity_from(WEEK_OF_CONTACTS)
    assert use(cap, activity, count_automated).state == expected


@pytest.mark.parametrize(
    ("cap", "reached", "exceeded", "exceeded_until"),
    [
        (Cap(7, 4), False, False, None),
        (Cap(7, 3), True, False, None),
        (Cap(7, 2), True, True, utc(2026, 11, 21, 8)),  # back to 2 when the oldest leaves
        (Cap(7, 1), True, True, utc(2026, 11, 23, 8)),
        (Cap(7, 0), True, True, utc(2026, 11, 25, 8)),  # back to 0 when all three left
    ],
)
def test_reached_and_exceeded(
    cap: Cap, reached: bool, exceeded: bool, exceeded_until: datetime | None
) -> None:
    got = use(cap, activity_from(WEEK_OF_CONTACTS))
    assert (got.reached, got.exceeded, got.exceeded_until) == (reached, exceeded, exceeded_until)


def _reservation(channel: str, created: datetime, expires: datetime) -> Reservation:
    return Reservation(channel=channel, created_at=created, expires_at=expires)


def test_open_reservations_count_until_they_expire() -> None:
    reservations = [
        _reservation("phone", utc(2026, 11, 20, 2), utc(2026, 11, 20, 4)),  # open
        _reservation("email", utc(2026, 11, 20, 1), utc(2026, 11, 20, 3)),  # expired at as_of
        _reservation("email", utc(2026, 11, 20, 4), utc(2026, 11, 20, 5)),  # not yet made
    ]
    activity = activity_from([out(utc(2026, 11, 18, 8))], reservations=reservations)
    # the reservation expires before the contact leaves: it frees the cap
    assert use(Cap(7, 2), activity).state == state(7, 2, 2, utc(2026, 11, 20, 4))
    assert use(Cap(7, 1, PHONE), activity).state == state(7, 1, 1, utc(2026, 11, 20, 4), PHONE)
    email = frozenset({"email"})
    assert use(Cap(7, 1, email), activity).state == state(7, 1, 1, utc(2026, 11, 25, 8), email)


def test_the_profiles_own_cap_is_an_extra_30_day_cap() -> None:
    rule = make_rule(caps=(Cap(7, 3),))
    assert caps_of(rule, make_profile()) == (CountedCap(Cap(7, 3), True),)
    assert caps_of(rule, make_profile(max_contacts_per_30d=2)) == (
        CountedCap(Cap(7, 3), True),
        CountedCap(Cap(30, 2), True),
    )
    activity = activity_from([out(utc(2026, 11, 1, 8)), out(utc(2026, 11, 10, 8), "sms")])
    status = evaluate(make_policy(rule), make_profile(max_contacts_per_30d=2), activity, AS_OF)
    assert status.caps == (state(7, 3, 0, None), state(30, 2, 2, utc(2026, 12, 1, 8)))
    assert [r.code for r in status.reasons if r.code.startswith("cap")] == ["cap_reached"]


def test_the_profiles_own_cap_counts_automated_contacts_whatever_the_rule_says() -> None:
    """What the customer receives: ten newsletters do not slip through a cap of 2."""
    rule = make_rule(count_automated=False, caps=(Cap(7, 3),))
    assert caps_of(rule, make_profile(max_contacts_per_30d=2)) == (
        CountedCap(Cap(7, 3), False),
        CountedCap(Cap(30, 2), True),
    )
    newsletters = [out(utc(2026, 11, d, 8), automated=True) for d in range(5, 15)]
    profile = make_profile(max_contacts_per_30d=2)
    status = evaluate(make_policy(rule), profile, activity_from(newsletters), AS_OF)
    assert [(c.used, c.max) for c in status.caps] == [(0, 3), (10, 2)]
    assert status.status == "over_contacted"
    assert [r.code for r in status.reasons][:1] == ["cap_exceeded"]


def test_a_frees_at_inside_a_bucketed_day_asks_for_that_day() -> None:
    exact = activity_from([out(utc(2026, 11, 14, 8)), out(utc(2026, 11, 16, 8))])
    activity = bucketed(exact, [date(2026, 11, 13), date(2026, 11, 20)])
    counter = Counter(activity)
    got = cap_use(CountedCap(Cap(7, 2), True), counter, AS_OF)
    assert got.state.used == 2
    assert got.state.frees_at is None
    assert counter.missing_days == {date(2026, 11, 14)}
    exact_day = bucketed(exact, [date(2026, 11, 13), date(2026, 11, 14), date(2026, 11, 20)])
    assert cap_use(CountedCap(Cap(7, 2), True), Counter(exact_day), AS_OF).state.frees_at == utc(
        2026, 11, 21, 8
    )


def test_a_frees_at_near_a_bucketed_day_asks_for_it_too() -> None:
    """A reservation expires at 05:00 on 22 November, the 15 November contact leaves at some
    hour that day: which of them leaves second is only known from the exact contact."""
    reservation = _reservation("phone", utc(2026, 11, 20, 2), utc(2026, 11, 22, 5))
    exact = activity_from([out(utc(2026, 11, 15, 2))], reservations=[reservation])
    counter = Counter(bucketed(exact, [date(2026, 11, 13), date(2026, 11, 20)]))
    assert cap_use(CountedCap(Cap(7, 1), True), counter, AS_OF).state == state(7, 1, 2, None)
    assert counter.missing_days == {date(2026, 11, 15)}
    assert use(Cap(7, 1), exact).state == state(7, 1, 2, utc(2026, 11, 22, 5))
    # a whole day apart, the bucketed day does not blur it
    early = activity_from([out(utc(2026, 11, 14, 2))], reservations=[reservation])
    counter = Counter(bucketed(early, [date(2026, 11, 13), date(2026, 11, 20)]))
    got = cap_use(CountedCap(Cap(7, 1), True), counter, AS_OF)
    assert got.state == state(7, 1, 2, utc(2026, 11, 22, 5))
    assert got.exceeded_until is None  # when the bucketed contact leaves: asked for
    assert counter.missing_days == {date(2026, 11, 14)}


def _depth(at: datetime, depth: str | None, outbound: bool = True) -> ContactEvent:
    return ContactEvent(at=at, channel="meeting", outbound=outbound, depth=depth)


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (Target(30, 4), TargetState(30, 4, 5, True)),  # both directions count
        (Target(30, 6), TargetState(30, 6, 5, False)),
        (Target(30, 1, "deep"), TargetState(30, 1, 1, True, "deep")),
        (Target(30, 3, "value"), TargetState(30, 3, 3, True, "value")),  # value or deeper
        (Target(30, 4, "light"), TargetState(30, 4, 4, True, "light")),  # any depth given
        (Target(7, 1, "deep"), TargetState(7, 1, 0, False, "deep")),
    ],
)
def test_targets(target: Target, expected: TargetState) -> None:
    events = [
        _depth(utc(2026, 11, 1), "deep"),
        _depth(utc(2026, 11, 2), "value", outbound=False),
        _depth(utc(2026, 11, 15), "value"),
        _depth(utc(2026, 11, 18), "light"),
        _depth(utc(2026, 11, 19), None),
        _depth(utc(2026, 10, 1), "deep"),  # outside 30 days
    ]
    exact = activity_from(events)
    assert target_state(target, Counter(exact), AS_OF) == expected
    edges = [AS_OF.date(), (AS_OF - timedelta(days=target.window_days)).date()]
    assert target_state(target, Counter(bucketed(exact, edges)), AS_OF) == expected


def test_an_unmet_target_adds_a_reason_but_no_status_change() -> None:
    policy = make_policy(make_rule(targets=(Target(30, 2, "deep"),)))
    activity = activity_from([out(utc(2026, 11, 19), depth="deep")])
    status = evaluate(policy, make_profile(), activity, AS_OF)
    assert status.targets == (TargetState(30, 2, 1, False, "deep"),)
    assert [r.code for r in status.reasons] == ["target_unmet"]
    assert status.status == "on_track"
    met = evaluate(policy, make_profile(), activity_from([]), AS_OF)
    assert [r.code for r in met.reasons] == ["never_contacted", "target_unmet"]
