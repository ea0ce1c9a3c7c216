"""Local wall-clock time: business days, public holidays, contact hours and quiet hours."""

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from app.cadence.types import BusinessDays, HoursRange, Policy, Profile

# How far forward to look for a contactable instant before giving up on quiet hours.
MAX_SLOT_SEARCH_STEPS = 2000


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


KNOWN_COUNTRIES = frozenset(holidays.list_supported_countries())


@dataclass(frozen=True, slots=True)
class OfficialYear:
    """A country's official calendar for a year: its public holidays, and the weekend days
    it makes working days (China's 调休 moves weekends around its holidays)."""

    holidays: frozenset[date]
    workdays: frozenset[date]


NO_OFFICIAL_DAYS = OfficialYear(frozenset(), frozenset())


@lru_cache(maxsize=4096)
def official_year(country: str, year: int) -> OfficialYear:
    """What the ``holidays`` package knows of a country's year; nothing for a country it
    does not know."""
    if country not in KNOWN_COUNTRIES:
        return NO_OFFICIAL_DAYS
    calendar = holidays.country_holidays(country, years=year)
    workdays = frozenset(d for d in calendar.weekend_workdays if d.year == year)
    return OfficialYear(frozenset(calendar), workdays)


def public_holidays(country: str, year: int) -> frozenset[date]:
    return official_year(country, year).holidays


def at_local(day: date, wall: time, tz: ZoneInfo, after: datetime | None = None) -> datetime:
    """The first UTC instant the local clock reads ``wall`` (or later) on ``day``: a time
    skipped by DST is the end of the gap; a repeated one is its first occurrence (its
    second if the first is not after ``after``)."""
    naive = datetime.combine(day, wall)
    first = naive.replace(tzinfo=tz).astimezone(UTC)
    second = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    if second < first:  # in a gap: fold 1 reads it on the new offset, fold 0 on the old one
        return _offset_change(second, first, tz)
    return first if after is None or first > after else second


def _offset_change(before: datetime, after: datetime, tz: ZoneInfo) -> datetime:
    """The instant in (before, after] at which ``tz`` takes the UTC offset it has at ``after``."""
    offset = after.astimezone(tz).utcoffset()
    low, high = math.floor(before.timestamp()), math.ceil(after.timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, tz).utcoffset() == offset:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


def in_range(wall: time, hours: HoursRange) -> bool:
    if hours.start <= hours.end:
        return hours.start <= wall < hours.end
    return wall >= hours.start or wall < hours.end  # wraps midnight


def leaves_time(hours: HoursRange | None, quiet: HoursRange) -> bool:
    """Some time of day is in contact hours and not in quiet hours: then one of the instants
    where a contactable stretch can begin is."""
    starts = [time(0), quiet.end, *([hours.start] if hours else [])]
    return any((hours is None or in_range(t, hours)) and not in_range(t, quiet) for t in starts)


@dataclass(frozen=True, slots=True)
class Calendar:
    """One customer's calendar: the policy's business days and hours in the customer's zone."""

    tz: ZoneInfo
    business_days: BusinessDays | None = None
    holidays_country: str | None = None
    contact_hours: HoursRange | None = None
    quiet_hours: HoursRange | None = None

    def local(self, instant: datetime) -> datetime:
        return instant.astimezone(self.tz)

    def is_business_day(self, day: date) -> bool:
        """A listed weekday that is not a public holiday, or an official make-up working day."""
        if self.business_days is None:
            return True
        country = self.holidays_country
        official = official_year(country, day.year) if country else NO_OFFICIAL_DAYS
        if day in official.workdays:
            return True
        return day.isoweekday() in self.business_days.weekdays and day not in official.holidays

    def add_days(self, instant: datetime, days: int) -> datetime:
        """``days`` later on the local wall clock; business days when the policy has them."""
        local = self.local(instant)
        day = local.date()
        if self.business_days is None:
            day += timedelta(days=days)
        else:
            for _ in range(days):
                day = self.next_business_day(day)
        return at_local(day, local.time().replace(tzinfo=None), self.tz)

    def next_business_day(self, day: date) -> date:
        day += timedelta(days=1)
        for _ in range(3700):  # ten years of holidays is no calendar a policy can mean
            if self.is_business_day(day):
                return day
            day += timedelta(days=1)
        raise ValueError("the business-day calendar has no business days")

    def is_contact_time(self, instant: datetime, *, mind_quiet: bool = True) -> bool:
        local = self.local(instant)
        wall = local.time().replace(tzinfo=None)
        if not self.is_business_day(local.date()):
            return False
        if self.contact_hours is not None and not in_range(wall, self.contact_hours):
            return False
        return not (
            mind_quiet and self.quiet_hours is not None and in_range(wall, self.quiet_hours)
        )

    def in_quiet_hours(self, instant: datetime) -> bool:
        if self.quiet_hours is None:
            return False
        return in_range(self.local(instant).time().replace(tzinfo=None), self.quiet_hours)

    def day_start(self, day: date) -> datetime:
        return at_local(day, time(0), self.tz)

    def opening(self, day: date) -> datetime:
        """When contact may begin on a day: its contact hours' start, else midnight."""
        return at_local(day, self.contact_hours.start if self.contact_hours else time(0), self.tz)

    def outside_contact_hours(self, instant: datetime) -> bool:
        hours = self.contact_hours
        return hours is not None and not in_range(self.local(instant).time(), hours)

    def next_change(self, instant: datetime) -> datetime | None:
        """The next instant after ``instant`` at which whether one may contact can turn:
        a local midnight (a business day begins or ends), contact hours or quiet hours
        beginning or ending. None when the calendar is always open."""
        walls = [
            *([time(0)] if self.business_days is not None else []),
            *([self.contact_hours.start, self.contact_hours.end] if self.contact_hours else []),
            *([self.quiet_hours.start, self.quiet_hours.end] if self.quiet_hours else []),
        ]
        day = self.local(instant).date()
        turns = [
            at_local(day + timedelta(days=ahead), wall, self.tz)
            for wall in walls
            for ahead in (0, 1, 2)  # two days on: past any DST change in between
        ]
        return min((t for t in turns if t > instant), default=None)

    def next_opening(self, instant: datetime) -> datetime:
        """The next start of contact hours on a business day, after ``instant``."""
        local = self.local(instant)
        day = local.date()
        if self.is_business_day(day) and (opens := self.opening(day)) > instant:
            return opens
        return self.opening(self.next_business_day(day))

    def quiet_end(self, instant: datetime) -> datetime:
        """When the quiet hours ``instant`` lies in end (it must lie in some)."""
        assert self.quiet_hours is not None
        local = self.local(instant)
        end = self.quiet_hours.end
        later = local.time().replace(tzinfo=None) >= end
        return at_local(local.date() + timedelta(days=int(later)), end, self.tz, after=instant)

    def next_slot(self, instant: datetime) -> datetime:
        """The first instant at or after ``instant`` on a business day, in contact hours and
        outside the customer's quiet hours (ignored when they leave no time at all)."""
        quiet = self.quiet_hours
        passes = (True, False) if quiet and leaves_time(self.contact_hours, quiet) else (False,)
        for mind_quiet in passes:
            candidate = instant
            for _ in range(MAX_SLOT_SEARCH_STEPS):
                moved = self._step(candidate, mind_quiet=mind_quiet)
                if moved == candidate:
                    return candidate
                candidate = moved
        raise ValueError("the calendar leaves no contactable time")

    def _step(self, instant: datetime, *, mind_quiet: bool) -> datetime:
        """One move forward towards a contactable instant; unchanged if already there. A move
        never passes the clocks going back: the wall-clock times they repeat may be open."""
        moved = self._move(instant, mind_quiet=mind_quiet)
        before, after = self.local(instant).utcoffset(), self.local(moved).utcoffset()
        if moved == instant or before is None or after is None or after >= before:
            return moved
        return _offset_change(instant, moved, self.tz)

    def _move(self, instant: datetime, *, mind_quiet: bool) -> datetime:
        local = self.local(instant)
        day, wall = local.date(), local.time().replace(tzinfo=None)
        opening = self.contact_hours.start if self.contact_hours else time(0)
        if not self.is_business_day(day):
            return at_local(self.next_business_day(day), opening, self.tz)
        hours = self.contact_hours
        if hours is not None and not in_range(wall, hours):
            next_day = day if wall < hours.start else self.next_business_day(day)
            return at_local(next_day, hours.start, self.tz, after=instant)
        quiet = self.quiet_hours
        if mind_quiet and quiet is not None and in_range(wall, quiet):
            return max(self.quiet_end(instant), instant + timedelta(minutes=1))
        return instant


def calendar_for(
    *,
    timezone: str,
    business_days: BusinessDays | None,
    contact_hours: HoursRange | None,
    quiet_hours: HoursRange | None,
    country: str | None,
) -> Calendar:
    """The customer's country names the public holidays, else the policy's country."""
    holiday_country = country or (business_days.holidays_country if business_days else None)
    return Calendar(zone(timezone), business_days, holiday_country, contact_hours, quiet_hours)


def customer_calendar(policy: Policy, profile: Profile) -> Calendar:
    return calendar_for(
        timezone=profile.timezone or policy.timezone,
        business_days=policy.business_days,
        contact_hours=policy.contact_hours,
        quiet_hours=profile.quiet_hours,
        country=profile.country,
    )
