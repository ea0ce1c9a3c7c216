"""How a report's range splits over the outcome rollups: whole UTC months, the other whole UTC
days, and the hours at either end (read from the facts)."""

from datetime import date, datetime

import pytest

from app.analytics.repository import Spans
from app.analytics.schemas import Window


def spans(since: str, until: str) -> Spans | None:
    return Spans.of(Window(datetime.fromisoformat(since), datetime.fromisoformat(until)))


def test_a_quarter_in_utc_is_three_whole_months() -> None:
    assert spans("2026-04-01T00:00:00Z", "2026-07-01T00:00:00Z") == Spans(
        date(2026, 4, 1), date(2026, 7, 1), date(2026, 4, 1), date(2026, 7, 1)
    )


def test_a_quarter_in_shanghai_cuts_the_utc_days_at_either_end() -> None:
    # 2026-03-31T16:00Z .. 2026-06-30T16:00Z: April and May whole, June 1-29 by day
    assert spans("2026-04-01T00:00:00+08:00", "2026-07-01T00:00:00+08:00") == Spans(
        date(2026, 4, 1), date(2026, 6, 30), date(2026, 4, 1), date(2026, 6, 1)
    )


def test_months_across_a_year_end() -> None:
    assert spans("2026-12-15T06:00:00Z", "2027-02-20T00:00:00Z") == Spans(
        date(2026, 12, 16), date(2027, 2, 20), date(2027, 1, 1), date(2027, 2, 1)
    )


def test_days_without_a_whole_month_are_read_by_day() -> None:
    # the empty month span sits at the end, so the days before it are every whole day
    assert spans("2026-01-15T00:00:00Z", "2026-02-20T00:00:00Z") == Spans(
        date(2026, 1, 15), date(2026, 2, 20), date(2026, 2, 20), date(2026, 2, 20)
    )


@pytest.mark.parametrize(
    ("since", "until"),
    [
        ("2026-10-03T10:00:00Z", "2026-10-03T16:00:00Z"),
        ("2026-10-03T10:00:00Z", "2026-10-04T09:00:00Z"),
        ("2026-10-03T00:00:00+08:00", "2026-10-04T00:00:00+08:00"),
    ],
)
def test_a_range_without_a_whole_utc_day_has_no_spans(since: str, until: str) -> None:
    assert spans(since, until) is None


def test_the_hours_at_either_end_are_before_the_first_day_and_after_the_last() -> None:
    found = spans("2026-10-01T15:00:00Z", "2026-10-05T01:00:00Z")
    assert found is not None
    parameters = found.parameters()
    assert parameters["head_until"] == datetime.fromisoformat("2026-10-02T00:00:00Z")
    assert parameters["tail_since"] == datetime.fromisoformat("2026-10-05T00:00:00Z")
