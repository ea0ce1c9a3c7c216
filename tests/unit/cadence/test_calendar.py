"""Business days, public holidays, contact and quiet hours, DST: hand-checked dates."""

from datetime import UTC, date, datetime, time

import pytest

from app.cadence import BusinessDays, HoursRange
from app.cadence.calendar import (
    Calendar,
    at_local,
    calendar_for,
    in_range,
    leaves_time,
    public_holidays,
)
from tests.unit.cadence import hm, local

WEEKDAYS = BusinessDays(frozenset({1, 2, 3, 4, 5}))
CN_WEEKDAYS = BusinessDays(frozenset({1, 2, 3, 4, 5}), holidays_country="CN")
NINE_TO_SIX = HoursRange(hm("09:00"), hm("18:00"))
NIGHT = HoursRange(hm("20:00"), hm("09:00"))


def cal(
    tz: str = "UTC",
    business_days: BusinessDays | None = None,
    contact_hours: HoursRange | None = None,
    quiet_hours: HoursRange | None = None,
    country: str | None = None,
) -> Calendar:
    return calendar_for(
        timezone=tz,
        business_days=business_days,
        contact_hours=contact_hours,
        quiet_hours=quiet_hours,
        country=country,
    )


@pytest.mark.parametrize(
    ("business_days", "country", "day", "expected"),
    [
        (WEEKDAYS, None, date(2026, 10, 2), True),  # a Friday
        (WEEKDAYS, None, date(2026, 10, 3), False),  # Saturday
        (WEEKDAYS, None, date(2026, 10, 4), False),  # Sunday
        (WEEKDAYS, None, date(2026, 10, 1), True),  # no holiday calendar: a plain Thursday
        (CN_WEEKDAYS, None, date(2026, 10, 1), False),  # National Day
        (CN_WEEKDAYS, None, date(2026, 10, 5), False),  # National Day (observed), a Monday
        (CN_WEEKDAYS, None, date(2026, 9, 25), False),  # Mid-Autumn Festival, a Friday
        (CN_WEEKDAYS, None, date(2026, 10, 8), True),  # the golden week is over
        (CN_WEEKDAYS, "US", date(2026, 10, 1), True),  # the customer's country wins
        (CN_WEEKDAYS, "US", date(2026, 7, 3), False),  # Independence Day (observed), a Friday
        (CN_WEEKDAYS, "US", date(2026, 7, 6), True),
        (WEEKDAYS, "US", date(2026, 7, 3), False),  # customer's country, policy has none
        (WEEKDAYS, "DE", date(2026, 10, 3), False),  # a Saturday anyway
        (WEEKDAYS, "DE", date(2026, 4, 3), False),  # Good Friday
        (CN_WEEKDAYS, "XX", date(2026, 10, 1), True),  # unknown country: no holidays
        (BusinessDays(frozenset({6, 7})), None, date(2026, 10, 3), True),  # weekend only
        (BusinessDays(frozenset({6, 7})), None, date(2026, 10, 2), False),
        (None, "CN", date(2026, 10, 1), True),  # no business days: every day counts
    ],
)
def test_business_days(
    business_days: BusinessDays | None, country: str | None, day: date, expected: bool
) -> None:
    assert cal(business_days=business_days, country=country).is_business_day(day) is expected


def test_public_holidays_of_an_unknown_country_are_none() -> None:
    assert public_holidays("XX", 2026) == frozenset()
    assert date(2026, 10, 1) in public_holidays("CN", 2026)


@pytest.mark.parametrize(
    ("hours", "wall", "expected"),
    [
        (NINE_TO_SIX, "09:00", True),  # start is inside
        (NINE_TO_SIX, "08:59", False),
        (NINE_TO_SIX, "17:59:59", True),
        (NINE_TO_SIX, "18:00", False),  # end is outside
        (NIGHT, "20:00", True),
        (NIGHT, "23:59", True),
        (NIGHT, "00:00", True),
        (NIGHT, "08:59", True),
        (NIGHT, "09:00", False),
        (NIGHT, "19:59", False),
        (NIGHT, "12:00", False),
        (HoursRange(hm("10:00"), hm("10:00")), "10:00", False),  # empty
    ],
)
def test_hours_are_half_open_and_may_wrap_midnight(
    hours: HoursRange, wall: str, expected: bool
) -> None:
    assert in_range(hm(wall), hours) is expected


SH = "Asia/Shanghai"
NY = "America/New_York"
BERLIN = "Europe/Berlin"


@pytest.mark.parametrize(
    ("calendar", "instant", "expected"),
    [
        # already contactable: unchanged
        (cal(SH, WEEKDAYS, NINE_TO_SIX), local(SH, 2026, 10, 2, 10), local(SH, 2026, 10, 2, 10)),
        # before opening: the same day's opening
        (cal(SH, WEEKDAYS, NINE_TO_SIX), local(SH, 2026, 10, 2, 7), local(SH, 2026, 10, 2, 9)),
        # at closing (end excluded), Friday: Monday's opening
        (cal(SH, WEEKDAYS, NINE_TO_SIX), local(SH, 2026, 10, 2, 18), local(SH, 2026, 10, 5, 9)),
        # a Saturday: Monday's opening
        (cal(SH, WEEKDAYS, NINE_TO_SIX), local(SH, 2026, 10, 3, 11), local(SH, 2026, 10, 5, 9)),
        # CN golden week: from the evening of 30 September to Thursday 8 October
        (
            cal(SH, CN_WEEKDAYS, NINE_TO_SIX),
            local(SH, 2026, 9, 30, 19),
            local(SH, 2026, 10, 8, 9),
        ),
        # the customer in New York, US holidays: Friday 3 July is observed, so Monday
        (
            cal(NY, CN_WEEKDAYS, NINE_TO_SIX, country="US"),
            local(NY, 2026, 7, 2, 18, 30),
            local(NY, 2026, 7, 6, 9),
        ),
        # business days but no contact hours: the next business day at midnight
        (cal(SH, WEEKDAYS), local(SH, 2026, 10, 3, 11), local(SH, 2026, 10, 5)),
        # no calendar at all: every instant counts
        (cal(SH), local(SH, 2026, 10, 3, 3), local(SH, 2026, 10, 3, 3)),
        # quiet hours wrapping midnight, no contact hours: the quiet hours' end
        (cal(SH, quiet_hours=NIGHT), local(SH, 2026, 10, 3, 22), local(SH, 2026, 10, 4, 9)),
        (cal(SH, quiet_hours=NIGHT), local(SH, 2026, 10, 3, 2), local(SH, 2026, 10, 3, 9)),
        (cal(SH, quiet_hours=NIGHT), local(SH, 2026, 10, 3, 9), local(SH, 2026, 10, 3, 9)),
        # quiet hours inside contact hours: a lunch break
        (
            cal(SH, WEEKDAYS, NINE_TO_SIX, HoursRange(hm("12:00"), hm("13:30"))),
            local(SH, 2026, 10, 2, 12, 15),
            local(SH, 2026, 10, 2, 13, 30),
        ),
        # quiet until 10:00 overlaps the opening at 09:00
        (
            cal(SH, WEEKDAYS, NINE_TO_SIX, HoursRange(hm("19:00"), hm("10:00"))),
            local(SH, 2026, 10, 2, 17, 30),
            local(SH, 2026, 10, 2, 17, 30),
        ),
        (
            cal(SH, WEEKDAYS, NINE_TO_SIX, HoursRange(hm("17:00"), hm("10:00"))),
            local(SH, 2026, 10, 2, 17, 30),
            local(SH, 2026, 10, 5, 10),
        ),
        # quiet hours that leave no contact time at all are ignored
        (
            cal(SH, WEEKDAYS, NINE_TO_SIX, HoursRange(hm("08:00"), hm("19:00"))),
            local(SH, 2026, 10, 2, 7),
            local(SH, 2026, 10, 2, 9),
        ),
        # DST: contact hours open at 02:30, skipped on 8 March in New York: they open when
        # the clocks jump from 02:00 EST to 03:00 EDT
        (
            cal(NY, contact_hours=HoursRange(hm("02:30"), hm("18:00"))),
            local(NY, 2026, 3, 8, 0),
            datetime(2026, 3, 8, 7, 0, tzinfo=UTC),
        ),
        # DST: quiet hours ending at 02:30 end at the jump too
        (
            cal(NY, quiet_hours=HoursRange(hm("22:00"), hm("02:30"))),
            local(NY, 2026, 3, 7, 23),
            datetime(2026, 3, 8, 7, 0, tzinfo=UTC),
        ),
        # DST: Lord Howe Island skips 02:00-02:30 on 4 October 2026
        (
            cal("Australia/Lord_Howe", contact_hours=HoursRange(hm("02:15"), hm("18:00"))),
            datetime(2026, 10, 3, 15, 0, tzinfo=UTC),
            datetime(2026, 10, 3, 15, 30, tzinfo=UTC),
        ),
        # DST: the opening after the clocks went forward is 09:00 EDT (13:00 UTC)
        (
            cal(NY, WEEKDAYS, NINE_TO_SIX),
            datetime(2026, 3, 6, 23, 30, tzinfo=UTC),
            datetime(2026, 3, 9, 13, 0, tzinfo=UTC),
        ),
        # DST: after the clocks went back, 09:00 EST (14:00 UTC)
        (
            cal(NY, WEEKDAYS, NINE_TO_SIX),
            datetime(2026, 10, 30, 22, 30, tzinfo=UTC),
            datetime(2026, 11, 2, 14, 0, tzinfo=UTC),
        ),
        # DST: Berlin goes to summer time on 29 March 2026
        (
            cal(BERLIN, WEEKDAYS, NINE_TO_SIX),
            datetime(2026, 3, 27, 17, 0, tzinfo=UTC),
            datetime(2026, 3, 30, 7, 0, tzinfo=UTC),
        ),
    ],
)
def test_next_slot(calendar: Calendar, instant: datetime, expected: datetime) -> None:
    assert calendar.next_slot(instant) == expected


def test_next_slot_in_the_repeated_hour_never_goes_back() -> None:
    """01:30 EST is the second 01:30 of 1 November in New York; the opening at 01:45 that
    follows it is 01:45 EST, not the 01:45 EDT an hour before."""
    calendar = cal(NY, contact_hours=HoursRange(hm("01:45"), hm("05:00")))
    second_half_past_one = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
    assert calendar.next_slot(second_half_past_one) == datetime(2026, 11, 1, 6, 45, tzinfo=UTC)
    quiet = cal(NY, quiet_hours=HoursRange(hm("01:00"), hm("01:45")))
    assert quiet.next_slot(datetime(2026, 11, 1, 6, 0, tzinfo=UTC)) == datetime(
        2026, 11, 1, 6, 45, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("hours", "quiet"),
    [
        (None, HoursRange(hm("01:30"), hm("00:00"))),  # open only from midnight to 01:30
        (HoursRange(hm("00:00"), hm("01:30")), None),
    ],
)
def test_next_slot_finds_the_hour_the_clocks_repeat(
    hours: HoursRange | None, quiet: HoursRange | None
) -> None:
    """At 01:59 EDT on 1 November New York is closed until midnight by the wall clock, but a
    minute later the clocks go back to 01:00 EST, which is open again."""
    calendar = cal(NY, contact_hours=hours, quiet_hours=quiet)
    assert calendar.next_slot(datetime(2026, 11, 1, 5, 59, tzinfo=UTC)) == datetime(
        2026, 11, 1, 6, 0, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("calendar", "start", "days", "expected"),
    [
        # plain days keep the local wall-clock time across DST
        (cal(NY), local(NY, 2026, 3, 7, 10), 1, datetime(2026, 3, 8, 14, 0, tzinfo=UTC)),
        (cal(NY), local(NY, 2026, 10, 31, 10), 1, datetime(2026, 11, 1, 15, 0, tzinfo=UTC)),
        (cal(NY), datetime(2026, 3, 1, 15, 0, tzinfo=UTC), 14, local(NY, 2026, 3, 15, 10)),
        # a wall-clock time the clocks skip: the end of the gap (03:00 EDT)
        (cal(NY), local(NY, 2026, 3, 7, 2, 30), 1, datetime(2026, 3, 8, 7, 0, tzinfo=UTC)),
        # the repeated hour: its first occurrence (EDT)
        (cal(NY), local(NY, 2026, 10, 31, 1, 30), 1, datetime(2026, 11, 1, 5, 30, tzinfo=UTC)),
        (
            cal(BERLIN),
            datetime(2026, 3, 28, 8, 0, tzinfo=UTC),
            1,
            datetime(2026, 3, 29, 7, 0, tzinfo=UTC),
        ),
        (
            cal(BERLIN),
            datetime(2026, 10, 24, 7, 0, tzinfo=UTC),
            1,
            datetime(2026, 10, 25, 8, 0, tzinfo=UTC),
        ),
        (cal(SH), local(SH, 2026, 10, 1, 10), 30, local(SH, 2026, 10, 31, 10)),
        # business days: Friday + 1 is Monday, at the same wall-clock time
        (cal(SH, WEEKDAYS), local(SH, 2026, 10, 2, 15), 1, local(SH, 2026, 10, 5, 15)),
        (cal(SH, WEEKDAYS), local(SH, 2026, 10, 2, 15), 5, local(SH, 2026, 10, 9, 15)),
        # from a Saturday, one business day is Monday
        (cal(SH, WEEKDAYS), local(SH, 2026, 10, 3, 15), 1, local(SH, 2026, 10, 5, 15)),
        # CN holidays: Thursday 24 September + 2 skips Mid-Autumn and the weekend
        (cal(SH, CN_WEEKDAYS), local(SH, 2026, 9, 24, 15), 2, local(SH, 2026, 9, 29, 15)),
        (cal(SH, CN_WEEKDAYS), local(SH, 2026, 9, 30, 15), 1, local(SH, 2026, 10, 8, 15)),
        # business days across DST: Friday 6 March 10:00 EST + 1 is Monday 10:00 EDT
        (
            cal(NY, WEEKDAYS),
            datetime(2026, 3, 6, 15, 0, tzinfo=UTC),
            1,
            datetime(2026, 3, 9, 14, 0, tzinfo=UTC),
        ),
    ],
)
def test_add_days(calendar: Calendar, start: datetime, days: int, expected: datetime) -> None:
    assert calendar.add_days(start, days) == expected


def test_a_time_skipped_by_dst_is_the_end_of_the_gap() -> None:
    ny = cal(NY).tz
    assert at_local(date(2026, 3, 8), time(2, 30), ny) == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)
    assert at_local(date(2026, 3, 8), time(2, 0), ny) == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)
    assert at_local(date(2026, 3, 8), time(3, 0), ny) == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)
    assert at_local(date(2026, 3, 8), time(1, 59), ny) == datetime(2026, 3, 8, 6, 59, tzinfo=UTC)
    # an ambiguous time is its first occurrence (EDT)
    assert at_local(date(2026, 11, 1), time(1, 30), ny) == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("instant", "mind_quiet", "expected"),
    [
        (local(SH, 2026, 10, 2, 10), True, True),
        (local(SH, 2026, 10, 2, 12, 30), True, False),  # lunch quiet hours
        (local(SH, 2026, 10, 2, 12, 30), False, True),
        (local(SH, 2026, 10, 2, 18), True, False),
        (local(SH, 2026, 10, 3, 10), True, False),  # Saturday
    ],
)
def test_is_contact_time(instant: datetime, mind_quiet: bool, expected: bool) -> None:
    calendar = cal(SH, WEEKDAYS, NINE_TO_SIX, HoursRange(hm("12:00"), hm("13:00")))
    assert calendar.is_contact_time(instant, mind_quiet=mind_quiet) is expected


@pytest.mark.parametrize(
    ("hours", "quiet", "expected"),
    [
        (None, NIGHT, True),
        (NINE_TO_SIX, NIGHT, True),
        (NINE_TO_SIX, HoursRange(hm("08:00"), hm("19:00")), False),
        (NINE_TO_SIX, HoursRange(hm("09:00"), hm("18:00")), False),
        (NINE_TO_SIX, HoursRange(hm("09:00"), hm("17:59")), True),
        (NINE_TO_SIX, HoursRange(hm("17:00"), hm("10:00")), True),
        (NINE_TO_SIX, HoursRange(hm("12:00"), hm("11:00")), True),  # 11:00-12:00 is free
        (NINE_TO_SIX, HoursRange(hm("10:00"), hm("09:00")), True),  # 09:00-10:00 is free
        (HoursRange(hm("09:00"), hm("10:00")), HoursRange(hm("10:00"), hm("09:00")), True),
        (None, HoursRange(hm("00:00"), hm("23:59")), True),
    ],
)
def test_quiet_hours_may_leave_no_contact_time(
    hours: HoursRange | None, quiet: HoursRange, expected: bool
) -> None:
    assert leaves_time(hours, quiet) is expected


def test_quiet_hours_are_the_customers_local_time() -> None:
    calendar = cal(SH, quiet_hours=NIGHT)
    assert calendar.in_quiet_hours(datetime(2026, 10, 2, 13, 0, tzinfo=UTC))  # 21:00 local
    assert not calendar.in_quiet_hours(datetime(2026, 10, 2, 3, 0, tzinfo=UTC))  # 11:00 local
    assert not cal(SH).in_quiet_hours(datetime(2026, 10, 2, 13, 0, tzinfo=UTC))


def test_a_calendar_without_business_days_fails_loudly() -> None:
    with pytest.raises(ValueError, match="no business days"):
        cal(business_days=BusinessDays(frozenset())).next_business_day(date(2026, 1, 1))
