"""Properties of the cadence engine over random policies, profiles and contact histories."""

import itertools
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.cadence import (
    Activity,
    BucketPlan,
    BusinessDays,
    Cap,
    ContactEvent,
    HoursRange,
    Match,
    Policy,
    Profile,
    Reservation,
    Rule,
    Signal,
    SignalKind,
    Status,
    Target,
    evaluate,
    first_plan,
    plan_buckets,
    window_days_needed,
)
from app.cadence.calendar import Calendar, calendar_for, customer_calendar, in_range, leaves_time
from tests.unit.cadence import activity_from, bucketed, days_to_read, planned

SETTINGS = settings(max_examples=200, deadline=None)
ZONES = (
    "UTC",
    "America/New_York",
    "Europe/Berlin",
    "Asia/Shanghai",
    "Australia/Sydney",
    "Australia/Lord_Howe",  # a 30-minute DST shift
    "America/Sao_Paulo",
    "Asia/Kolkata",
)
COUNTRIES = (None, "US", "CN", "DE", "GB")
CHANNELS = ("email", "phone", "sms", "visit", "wechat")
START = datetime(2026, 1, 1, tzinfo=UTC)
SPAN_MINUTES = 500 * 24 * 60


def dst_changes(zone: str) -> list[datetime]:
    """The hours a zone changes its UTC offset within the span."""
    tz = ZoneInfo(zone)
    found: list[datetime] = []
    days = [START + timedelta(days=d) for d in range(SPAN_MINUTES // (24 * 60))]
    for day, next_day in itertools.pairwise(days):
        if day.astimezone(tz).utcoffset() != next_day.astimezone(tz).utcoffset():
            hours = [day + timedelta(hours=h) for h in range(25)]
            offsets = [h.astimezone(tz).utcoffset() for h in hours]
            found += [hours[i] for i in range(1, 25) if offsets[i] != offsets[i - 1]]
    return found


DST_BY_ZONE = {zone: changes for zone in ZONES if (changes := dst_changes(zone))}
DST_CHANGES = sorted(c for changes in DST_BY_ZONE.values() for c in changes)
instants = st.one_of(
    st.integers(0, SPAN_MINUTES).map(lambda m: START + timedelta(minutes=m)),
    st.builds(
        lambda change, minutes: change + timedelta(minutes=minutes),
        st.sampled_from(DST_CHANGES),
        st.integers(-36 * 60, 36 * 60),
    ),
)
walls = st.builds(time, st.integers(0, 23), st.sampled_from((0, 15, 30, 45)))
channels = st.sampled_from(CHANNELS)
maybe_channel = st.none() | channels
channel_sets = st.none() | st.frozensets(channels, min_size=1, max_size=3)
depths = st.sampled_from((None, "light", "value", "deep"))
zones = st.sampled_from(ZONES)
countries = st.sampled_from(COUNTRIES)

contact_hours = st.lists(walls, min_size=2, max_size=2, unique=True).map(
    lambda pair: HoursRange(*sorted(pair))
)
quiet_hours = st.builds(HoursRange, walls, walls).filter(lambda h: h.start != h.end)
business_days = st.builds(BusinessDays, st.frozensets(st.integers(1, 7), min_size=1), countries)
cap_lists = st.lists(
    st.builds(Cap, st.integers(1, 60), st.integers(0, 5), channel_sets), max_size=2
)
target_lists = st.lists(
    st.builds(Target, st.integers(1, 90), st.integers(1, 5), depths), max_size=2
)


def _rule(
    follow_up: int,
    grace: int,
    gap: float,
    channel: str | None,
    count_automated: bool,
    caps: list[Cap],
    targets: list[Target],
) -> Rule:
    return Rule(
        name="r",
        match=Match(),
        follow_up_days=follow_up,
        overdue_after_days=follow_up + grace,
        min_gap_hours=gap,
        channel=channel,
        count_automated=count_automated,
        caps=tuple(caps),
        targets=tuple(targets),
    )


def _rules(caps: bool) -> st.SearchStrategy[Rule]:
    return st.builds(
        _rule,
        st.integers(1, 60),
        st.integers(1, 60),
        st.sampled_from((0, 0.5, 4, 24, 48, 72)),
        maybe_channel,
        st.booleans(),
        cap_lists if caps else st.just([]),
        target_lists,
    )


def _policy(
    young_days: int,
    ordinal: int | None,
    young: Rule,
    rest: Rule,
    timezone: str,
    business_days: BusinessDays | None,
    contact_hours: HoursRange | None,
    fatigue_days: int,
    complaint_pause_days: int,
) -> Policy:
    """A young-stage rule first (a stage-age threshold to cross, maybe a contact ordinal),
    then a catch-all."""
    match = Match(stage_age_days_lt=young_days, outbound_in_stage_lt=ordinal)
    return Policy(
        rules=(
            replace(young, name="young", match=match),
            replace(rest, name="rest"),
        ),
        timezone=timezone,
        business_days=business_days,
        contact_hours=contact_hours,
        fatigue_days=fatigue_days,
        complaint_pause_days=complaint_pause_days,
    )


def policies(*, caps: bool = True) -> st.SearchStrategy[Policy]:
    rules = _rules(caps)
    return st.builds(
        _policy,
        st.integers(1, 60),
        st.none() | st.integers(1, 3),
        rules,
        rules,
        zones,
        st.none() | business_days,
        st.none() | contact_hours,
        st.integers(1, 60),
        st.integers(1, 120),
    )


def _profile(
    created: datetime,
    stage_days: int,
    timezone: str | None,
    country: str | None,
    opted_out: frozenset[str],
    paused_until: datetime | None,
    preferred: list[str],
    max_contacts: int | None,
    quiet_hours: HoursRange | None,
) -> Profile:
    return Profile(
        customer_id="c-1",
        created_at=created,
        stage_entered_at=created + timedelta(days=stage_days),
        timezone=timezone,
        country=country,
        opted_out_channels=opted_out,
        paused_until=paused_until,
        preferred_channels=tuple(preferred),
        max_contacts_per_30d=max_contacts,
        quiet_hours=quiet_hours,
    )


def profiles(*, quiet: bool = True) -> st.SearchStrategy[Profile]:
    """Random profiles; ``quiet=False`` leaves out whatever suppresses or caps."""
    return st.builds(
        _profile,
        instants,
        st.integers(0, 30),
        st.none() | zones,
        countries,
        st.frozensets(channels, max_size=2) if quiet else st.just(frozenset()),
        st.none() | instants if quiet else st.none(),
        st.lists(channels, max_size=2, unique=True),
        st.none() | st.integers(0, 6) if quiet else st.none(),
        st.none() | quiet_hours,
    )


contacts = st.builds(
    ContactEvent, instants, channels, st.booleans(), st.booleans(), depths, st.booleans()
)
histories = st.lists(contacts, max_size=15)
signals = st.lists(
    st.builds(Signal, instants, st.sampled_from(tuple(SignalKind)), channels), max_size=3
)


def until(events: list[ContactEvent], as_of: datetime) -> list[ContactEvent]:
    return [e for e in events if e.at <= as_of]


def reservations_at(as_of: datetime, draws: list[tuple[int, int, str]]) -> list[Reservation]:
    return [
        Reservation(c, as_of - timedelta(minutes=a), as_of + timedelta(minutes=b))
        for a, b, c in draws
    ]


reservation_draws = st.lists(
    st.tuples(st.integers(0, 600), st.integers(-600, 600), channels), max_size=2
)


def quiet_leaves_time(calendar: Calendar) -> bool:
    """Some minute of the day is in contact hours and not in quiet hours."""
    quiet, hours = calendar.quiet_hours, calendar.contact_hours
    if quiet is None:
        return True
    minutes = (time(m // 60, m % 60) for m in range(24 * 60))
    return any((hours is None or in_range(t, hours)) and not in_range(t, quiet) for t in minutes)


def counted(status: Status) -> tuple[object, ...]:
    return (
        status.counts,
        [c.used for c in status.caps],
        [t.done for t in status.targets],
        status.fatigue.open_rate_recent,
        status.fatigue.open_rate_before,
    )


def assert_no_later_changes(status: Status, expected: Status) -> None:
    """The same status as the exact one, with its next changes never later than the exact
    ones (a bucket is assumed to change at its start)."""
    for name in ("recheck_at", "valid_until"):
        exact, rough = getattr(expected, name), getattr(status, name)
        if exact is not None:
            assert rough is not None, name
            assert rough <= exact, name

    def known(s: Status) -> Status:
        return replace(s, recheck_at=None, valid_until=None, over_until=None)

    assert known(status) == known(expected)


# --- follow-up times ------------------------------------------------------------------------


@SETTINGS
@given(policies(), profiles(), histories, signals, instants, reservation_draws)
def test_follow_up_times_are_ordered_and_contactable(
    policy: Policy,
    profile: Profile,
    events: list[ContactEvent],
    signal_list: list[Signal],
    as_of: datetime,
    reservations: list[tuple[int, int, str]],
) -> None:
    activity = activity_from(
        until(events, as_of),
        signals=[s for s in signal_list if s.at <= as_of],
        reservations=reservations_at(as_of, reservations),
    )
    follow_up = evaluate(policy, profile, activity, as_of).next_follow_up
    assert follow_up.earliest_at <= follow_up.due_at
    if follow_up.overdue_at is not None:
        assert follow_up.due_at < follow_up.overdue_at
    else:
        assert follow_up.counted_from is None
    calendar = customer_calendar(policy, profile)
    mind_quiet = quiet_leaves_time(calendar)
    for instant in (follow_up.earliest_at, follow_up.due_at):
        assert calendar.is_contact_time(instant, mind_quiet=mind_quiet), instant


@SETTINGS
@given(policies(), profiles(), instants, instants)
def test_next_slot_is_the_first_contactable_instant_and_monotone(
    policy: Policy, profile: Profile, a: datetime, b: datetime
) -> None:
    calendar = customer_calendar(policy, profile)
    first, second = sorted((a, b))
    slot = calendar.next_slot(first)
    assert slot >= first
    assert calendar.next_slot(slot) == slot
    assert calendar.is_contact_time(slot, mind_quiet=quiet_leaves_time(calendar))
    assert slot <= calendar.next_slot(second)


@SETTINGS
@given(st.none() | contact_hours, quiet_hours)
def test_quiet_hours_leave_time_exactly_when_a_minute_is_free(
    hours: HoursRange | None, quiet: HoursRange
) -> None:
    calendar = calendar_for(
        timezone="UTC", business_days=None, contact_hours=hours, quiet_hours=quiet, country=None
    )
    assert leaves_time(hours, quiet) is quiet_leaves_time(calendar)


night_walls = st.builds(time, st.integers(0, 4), st.sampled_from((0, 15, 30, 45)))
day_walls = st.builds(time, st.integers(1, 23), st.sampled_from((0, 30)))


@st.composite
def around_dst(draw: st.DrawFn) -> tuple[Calendar, datetime, datetime]:
    """A calendar whose hours begin or end in the night DST changes, and two instants near
    one of its zone's changes."""
    zone = draw(st.sampled_from(sorted(DST_BY_ZONE)))
    change = draw(st.sampled_from(DST_BY_ZONE[zone]))
    hours = draw(st.none() | st.builds(HoursRange, night_walls, day_walls))
    quiet = draw(st.none() | st.builds(HoursRange, day_walls | night_walls, night_walls))
    calendar = calendar_for(
        timezone=zone,
        business_days=None,
        contact_hours=hours if hours is None or hours.start < hours.end else None,
        quiet_hours=quiet if quiet is None or quiet.start != quiet.end else None,
        country=None,
    )
    a, b = sorted(draw(st.lists(st.integers(-6 * 60, 6 * 60), min_size=2, max_size=2)))
    return calendar, change + timedelta(minutes=a), change + timedelta(minutes=b)


@SETTINGS
@given(around_dst())
def test_next_slot_around_dst_changes(case: tuple[Calendar, datetime, datetime]) -> None:
    calendar, first, second = case
    slot = calendar.next_slot(first)
    assert slot >= first
    assert calendar.next_slot(slot) == slot
    assert calendar.is_contact_time(slot, mind_quiet=quiet_leaves_time(calendar))
    assert slot <= calendar.next_slot(second)


# --- status over time -----------------------------------------------------------------------

STATUS_ORDER = ("on_track", "due", "overdue")


@SETTINGS
@given(
    policies(caps=False),
    profiles(quiet=False),
    histories,
    st.lists(st.integers(0, 200 * 24 * 60), min_size=2, max_size=6),
)
def test_with_no_new_touch_status_only_moves_on_track_due_overdue(
    policy: Policy, profile: Profile, events: list[ContactEvent], offsets: list[int]
) -> None:
    never_engaged = [replace(e, engaged=False) for e in events]
    young = policy.rules[0].match.stage_age_days_lt or 0
    first = max([profile.stage_entered_at + timedelta(days=young), *(e.at for e in events)])
    activity = activity_from(never_engaged)
    seen = [
        evaluate(policy, profile, activity, first + timedelta(minutes=m)).status
        for m in sorted(offsets)
    ]
    ranks = [STATUS_ORDER.index(s) for s in seen]
    assert ranks == sorted(ranks), seen


# --- counting -------------------------------------------------------------------------------


@SETTINGS
@given(policies(), profiles(), histories, instants, contacts, st.data())
def test_another_outbound_contact_never_lowers_a_caps_use(
    policy: Policy,
    profile: Profile,
    events: list[ContactEvent],
    as_of: datetime,
    extra: ContactEvent,
    data: st.DataObject,
) -> None:
    past = until(events, as_of)
    at = data.draw(st.integers(0, 120 * 24 * 60).map(lambda m: as_of - timedelta(minutes=m)))
    added = replace(extra, at=at, outbound=True)
    before = evaluate(policy, profile, activity_from(past), as_of)
    after = evaluate(policy, profile, activity_from([*past, added]), as_of)
    assert [c.window_days for c in after.caps] == [c.window_days for c in before.caps]
    for old, new in zip(before.caps, after.caps, strict=True):
        assert new.used >= old.used
    assert after.counts["90d"].total >= before.counts["90d"].total


@SETTINGS
@given(policies(), profiles(), histories, signals, instants)
def test_engagement_signals_never_count_as_contacts(
    policy: Policy,
    profile: Profile,
    events: list[ContactEvent],
    signal_list: list[Signal],
    as_of: datetime,
) -> None:
    past = until(events, as_of)
    plain = evaluate(policy, profile, activity_from(past), as_of)
    noisy = evaluate(policy, profile, activity_from(past, signals=signal_list), as_of)
    assert noisy.counts == plain.counts
    assert [c.used for c in noisy.caps] == [c.used for c in plain.caps]
    assert noisy.targets == plain.targets
    assert (noisy.last_contact_at, noisy.last_outbound_at) == (
        plain.last_contact_at,
        plain.last_outbound_at,
    )


ordinals = st.integers(0, 4)


@SETTINGS
@given(policies(), profiles(), histories, instants, reservation_draws, ordinals)
def test_bucketed_activity_counts_like_exact_activity(
    policy: Policy,
    profile: Profile,
    events: list[ContactEvent],
    as_of: datetime,
    reservations: list[tuple[int, int, str]],
    ordinal: int,
) -> None:
    exact = activity_from(
        until(events, as_of),
        reservations=reservations_at(as_of, reservations),
        outbound_in_stage=ordinal,
    )
    expected = evaluate(policy, profile, exact, as_of)
    days = days_to_read(window_days_needed(policy, profile, as_of), as_of)
    status = evaluate(policy, profile, bucketed(exact, days), as_of)
    assert counted(status) == counted(expected)
    # the store supplies what is missing and asks once more: that is always enough
    if status.missing_days:
        days |= status.missing_days
        status = evaluate(policy, profile, bucketed(exact, days), as_of)
    assert status.missing_days == frozenset()
    # bucketed days are assumed to change at their start: a recheck never comes later
    assert_no_later_changes(status, expected)


@pytest.mark.parametrize("first_read", [plan_buckets, first_plan])
@SETTINGS
@given(policies(), profiles(), histories, instants, reservation_draws, ordinals)
def test_the_stores_plan_judges_like_the_whole_history(
    first_read: Callable[[Iterable[int], datetime], BucketPlan],
    policy: Policy,
    profile: Profile,
    events: list[ContactEvent],
    as_of: datetime,
    reservations: list[tuple[int, int, str]],
    ordinal: int,
) -> None:
    """Runs of days and parts of days summed (the last week contact by contact from the
    start, as the service reads, or not), refined where a cap frees inside one (a run day by
    day, then a day contact by contact): the same status as from every contact, whichever
    rule the contact ordinal picks."""
    exact = activity_from(
        until(events, as_of),
        reservations=reservations_at(as_of, reservations),
        outbound_in_stage=ordinal,
    )
    expected = evaluate(policy, profile, exact, as_of)
    windows = window_days_needed(policy, profile, as_of)
    plan = first_read(windows, as_of)
    status = evaluate(policy, profile, planned(exact, plan), as_of)
    for _ in range(3):
        if not status.missing_days:
            break
        exact_days, split_days = plan.refined(status.missing_days)
        plan = plan_buckets(windows, as_of, exact_days=exact_days, split_days=split_days)
        status = evaluate(policy, profile, planned(exact, plan), as_of)
    assert status.missing_days == frozenset()
    assert_no_later_changes(status, expected)  # a bucket is assumed to change at its start


@SETTINGS
@given(
    policies(),
    profiles(),
    instants,
    st.builds(Cap, st.integers(1, 30), st.integers(0, 4), channel_sets),
    st.lists(st.tuples(st.floats(0, 1), channels, st.booleans()), min_size=1, max_size=8),
    reservation_draws,
)
def test_a_cap_frees_exactly_at_frees_at(
    policy: Policy,
    profile: Profile,
    as_of: datetime,
    cap: Cap,
    draws: list[tuple[float, str, bool]],
    reservations: list[tuple[int, int, str]],
) -> None:
    """frees_at is the first instant one more outbound contact fits under the cap."""
    rule = replace(policy.rules[-1], caps=(cap,))
    policy = replace(policy, rules=(rule,))
    window = timedelta(days=cap.window_days)
    events = [
        ContactEvent(as_of - share * window, channel, outbound=True, automated=automated)
        for share, channel, automated in draws
    ]
    activity = activity_from(events, reservations=reservations_at(as_of, reservations))
    status = evaluate(policy, profile, activity, as_of)
    for index, state in enumerate(status.caps):
        if state.frees_at is None:
            assert state.used < state.max or state.max == 0
            continue
        assert state.used >= state.max
        assert state.frees_at > as_of
        just_before = evaluate(
            policy, profile, activity, state.frees_at - timedelta(microseconds=1)
        )
        assert just_before.caps[index].used >= state.max
        assert evaluate(policy, profile, activity, state.frees_at).caps[index].used < state.max


def test_an_empty_activity_is_never_contacted() -> None:
    policy = Policy(rules=(Rule("r", Match(), 1, 2),))
    profile = Profile("c-1", START, START)
    status = evaluate(policy, profile, Activity(), START)
    assert status.status == "due"
    assert status.next_follow_up.overdue_at is None


@SETTINGS
@given(
    policies(),
    profiles(),
    histories,
    signals,
    instants,
    reservation_draws,
    st.lists(st.floats(0, 1, exclude_max=True), min_size=1, max_size=4),
)
def test_nothing_in_a_status_changes_before_valid_until(
    policy: Policy,
    profile: Profile,
    events: list[ContactEvent],
    signal_list: list[Signal],
    as_of: datetime,
    reservations: list[tuple[int, int, str]],
    shares: list[float],
) -> None:
    """A stored status document is served until valid_until: judged again at any instant
    before it (nothing new written), it says the same, but for as_of."""
    activity = activity_from(
        until(events, as_of),
        signals=[s for s in signal_list if s.at <= as_of],
        reservations=reservations_at(as_of, reservations),
    )
    status = evaluate(policy, profile, activity, as_of)
    end = status.valid_until or as_of + timedelta(days=400)
    assert end > as_of
    for share in shares:
        later = as_of + (end - as_of) * share
        later = min(later, end - timedelta(microseconds=1))  # a share close to 1 rounds up
        again = evaluate(policy, profile, activity, later)
        assert replace(again, as_of=as_of) == status, later
