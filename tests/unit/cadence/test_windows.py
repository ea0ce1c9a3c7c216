"""Rolling windows ``(as_of - N days, as_of]`` over exact and bucketed activity."""

from datetime import date, timedelta

import pytest

from app.cadence import Activity, ContactEvent
from app.cadence.windows import OUTBOUND, Counter, Selector, Window
from tests.unit.cadence import activity_from, bucketed, days_to_read, inb, out, utc

AS_OF = utc(2026, 11, 20, 3)
WEEK = Window(AS_OF, 7)


def test_a_window_is_open_at_its_start_and_closed_at_its_end() -> None:
    assert WEEK.start == utc(2026, 11, 13, 3)
    assert not WEEK.holds(utc(2026, 11, 13, 3))
    assert WEEK.holds(utc(2026, 11, 13, 3) + timedelta(microseconds=1))
    assert WEEK.holds(AS_OF)
    assert not WEEK.holds(AS_OF + timedelta(microseconds=1))
    assert WEEK.boundary_days() == {date(2026, 11, 13), date(2026, 11, 20)}


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        (Selector(), 6),
        (OUTBOUND, 4),
        (Selector(outbound_only=True, channels=frozenset({"phone"})), 1),
        (Selector(outbound_only=True, include_automated=False), 3),
        (Selector(min_depth="light"), 3),
        (Selector(min_depth="value"), 2),
        (Selector(min_depth="deep"), 1),
        (Selector(channels=frozenset({"email"}), engaged_only=True), 2),
    ],
)
def test_selectors_count_exact_and_bucketed_alike(selector: Selector, expected: int) -> None:
    events = [
        out(utc(2026, 11, 13, 3)),  # exactly at the start: outside
        out(utc(2026, 11, 14, 8), automated=True, engaged=True),
        out(utc(2026, 11, 15, 8), "phone", depth="deep"),
        out(utc(2026, 11, 16, 8), engaged=False),
        out(utc(2026, 11, 18, 8), "email", engaged=True, depth="light"),
        inb(utc(2026, 11, 18, 9), "email", engaged=True),  # inbound: never "engaged"
        inb(utc(2026, 11, 20, 3), "phone", depth="value"),  # exactly at as_of: inside
        out(utc(2026, 11, 20, 4)),  # after as_of
    ]
    exact = activity_from(events)
    assert Counter(exact).count(WEEK, selector) == expected
    counter = Counter(bucketed(exact, WEEK.boundary_days()))
    assert counter.count(WEEK, selector) == expected
    assert counter.missing_days == set()


def test_by_channel_leaves_out_empty_channels() -> None:
    exact = activity_from(
        [out(utc(2026, 11, 14, 8)), inb(utc(2026, 11, 15, 8), "phone"), out(utc(2026, 11, 19))]
    )
    for activity in (exact, bucketed(exact, WEEK.boundary_days())):
        counter = Counter(activity)
        assert counter.by_channel(WEEK, Selector()) == {"email": 2, "phone": 1}
        assert counter.by_channel(WEEK, OUTBOUND) == {"email": 2}


def test_a_partial_day_that_is_not_exact_is_reported_missing() -> None:
    exact = activity_from([out(utc(2026, 11, 13, 2)), out(utc(2026, 11, 13, 4))])
    counter = Counter(bucketed(exact, []))
    counter.count(WEEK, OUTBOUND)
    assert counter.missing_days == {date(2026, 11, 13)}
    assert Counter(exact).count(WEEK, OUTBOUND) == 1


def test_a_window_starting_at_midnight_does_not_take_its_first_instant_from_a_bucket() -> None:
    """(as_of - 7 days, as_of] excludes a contact at exactly as_of - 7 days, also when that
    day is bucketed: the day is only partly inside, so it is asked for exactly."""
    as_of = utc(2026, 11, 20)
    exact = activity_from([out(utc(2026, 11, 13))])
    assert Counter(exact).count(Window(as_of, 7), OUTBOUND) == 0
    counter = Counter(bucketed(exact, []))
    assert counter.count(Window(as_of, 7), OUTBOUND) == 0
    assert counter.missing_days == {date(2026, 11, 13)}


def test_leave_times_are_soonest_first() -> None:
    exact = activity_from([out(utc(2026, 11, 18, 8)), out(utc(2026, 11, 14, 8))])
    assert Counter(exact).leave_times(WEEK, OUTBOUND) == [
        (utc(2026, 11, 21, 8), None),
        (utc(2026, 11, 25, 8), None),
    ]
    counter = Counter(bucketed(exact, WEEK.boundary_days()))
    leaving = counter.leave_times(WEEK, OUTBOUND)
    assert [(at, bucket.day if bucket else None) for at, bucket in leaving] == [
        (utc(2026, 11, 21), date(2026, 11, 14)),  # a bucketed day: its start, and the day
        (utc(2026, 11, 25), date(2026, 11, 18)),
    ]


def test_days_to_read_are_the_window_edges() -> None:
    assert days_to_read([7, 30], AS_OF) == {
        date(2026, 11, 20),
        date(2026, 11, 13),
        date(2026, 10, 21),
    }


def test_an_empty_activity_counts_nothing() -> None:
    counter = Counter(Activity())
    assert counter.count(WEEK, Selector()) == 0
    assert counter.by_channel(WEEK, Selector()) == {}


def _contact(at_hour: int) -> ContactEvent:
    return out(utc(2026, 11, 16, at_hour))


def test_a_bucketed_day_wholly_inside_is_counted_without_asking() -> None:
    exact = activity_from([_contact(1), _contact(23)])
    counter = Counter(bucketed(exact, WEEK.boundary_days()))
    assert counter.count(WEEK, OUTBOUND) == 2
    assert counter.missing_days == set()
