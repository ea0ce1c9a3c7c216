"""Counting contacts in rolling windows ``(as_of - N days, as_of]`` from an Activity summary."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from app.cadence.types import DEPTH_ORDER, Activity, ContactEvent, DayCount


@dataclass(frozen=True, slots=True)
class Selector:
    """Which contacts a window counts."""

    outbound_only: bool = False
    channels: frozenset[str] | None = None
    include_automated: bool = True
    min_depth: str | None = None
    engaged_only: bool = False

    def takes_event(self, event: ContactEvent) -> bool:
        if self.channels is not None and event.channel not in self.channels:
            return False
        if (self.outbound_only or self.engaged_only) and not event.outbound:
            return False
        if not self.include_automated and event.automated:
            return False
        if self.engaged_only and not event.engaged:
            return False
        return (
            self.min_depth is None
            or DEPTH_ORDER.get(event.depth or "", 0) >= DEPTH_ORDER[self.min_depth]
        )

    def count_in_day(self, day: DayCount) -> int:
        if self.channels is not None and day.channel not in self.channels:
            return 0
        if self.engaged_only:
            return day.engaged
        if self.min_depth is not None:
            floor = DEPTH_ORDER[self.min_depth]
            depths = (("light", day.light), ("value", day.value), ("deep", day.deep))
            return sum(n for depth, n in depths if DEPTH_ORDER[depth] >= floor)
        outbound = day.outbound - (0 if self.include_automated else day.outbound_automated)
        return outbound if self.outbound_only else outbound + day.inbound


OUTBOUND = Selector(outbound_only=True)
EMAILS_SENT = Selector(outbound_only=True, channels=frozenset({"email"}))
EMAILS_ENGAGED = Selector(channels=frozenset({"email"}), engaged_only=True)


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Window:
    """The rolling window of ``days`` ending at ``end`` (inclusive), starting after ``start``."""

    end: datetime
    days: int

    @property
    def start(self) -> datetime:
        return self.end - timedelta(days=self.days)

    def holds(self, instant: datetime) -> bool:
        return self.start < instant <= self.end

    def boundary_days(self) -> frozenset[date]:
        return frozenset({self.start.astimezone(UTC).date(), self.end.astimezone(UTC).date()})

    def covers_day(self, day: date) -> bool:
        """The whole UTC day lies inside the window (which excludes its start instant)."""
        return self.start < day_start(day) and day_start(day + timedelta(days=1)) <= self.end


class Counter:
    """Counts over one customer's activity; notes the days it would need exact events for."""

    def __init__(self, activity: Activity) -> None:
        self.activity = activity
        self.missing_days: set[date] = set()

    def count(self, window: Window, selector: Selector) -> int:
        return sum(self._bucket_counts(window, selector)) + sum(
            1 for e in self.activity.events if window.holds(e.at) and selector.takes_event(e)
        )

    def by_channel(self, window: Window, selector: Selector) -> dict[str, int]:
        counts: dict[str, int] = {}
        for day in self._days_in(window):
            counts[day.channel] = counts.get(day.channel, 0) + selector.count_in_day(day)
        for event in self.activity.events:
            if window.holds(event.at) and selector.takes_event(event):
                counts[event.channel] = counts.get(event.channel, 0) + 1
        return {channel: n for channel, n in sorted(counts.items()) if n}

    def _bucket_counts(self, window: Window, selector: Selector) -> Iterator[int]:
        for day in self._days_in(window):
            yield selector.count_in_day(day)

    def _days_in(self, window: Window) -> Iterator[DayCount]:
        """Bucketed days wholly inside the window; partial ones need exact events."""
        for day in self.activity.days:
            if day.day in self.activity.exact_days:
                continue
            if window.covers_day(day.day):
                yield day
            elif (
                window.start < day_start(day.day + timedelta(days=1))
                and day_start(day.day) <= window.end
            ):
                self.missing_days.add(day.day)

    def leave_times(self, window: Window, selector: Selector) -> list[tuple[datetime, date | None]]:
        """When each counted contact leaves the window, soonest first; a bucketed day gives
        its day's start with the day (its contacts leave at unknown times that day)."""
        shift = timedelta(days=window.days)
        times: list[tuple[datetime, date | None]] = [
            (e.at + shift, None)
            for e in self.activity.events
            if window.holds(e.at) and selector.takes_event(e)
        ]
        for day in self._days_in(window):
            times.extend([(day_start(day.day) + shift, day.day)] * selector.count_in_day(day))
        return sorted(times, key=lambda item: item[0])
