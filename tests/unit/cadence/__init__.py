"""Builders shared by the cadence engine's unit tests: plain data, UTC unless said otherwise."""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from app.cadence import (
    Activity,
    BucketPlan,
    ContactEvent,
    DayCount,
    Match,
    Policy,
    Profile,
    Reservation,
    Rule,
    Signal,
)
from app.cadence.windows import MICROSECOND, Window, day_span, span_of

CREATED = datetime(2026, 1, 1, tzinfo=UTC)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def local(tz: str, year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A local wall-clock time, as the UTC instant the engine compares."""
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(tz)).astimezone(UTC)


def hm(text: str) -> time:
    return time.fromisoformat(text)


def out(at: datetime, channel: str = "email", **kw: Any) -> ContactEvent:
    return ContactEvent(at=at, channel=channel, outbound=True, **kw)


def inb(at: datetime, channel: str = "phone", **kw: Any) -> ContactEvent:
    return ContactEvent(at=at, channel=channel, outbound=False, **kw)


def utc_day(at: datetime) -> date:
    return at.astimezone(UTC).date()


def activity_from(
    events: Iterable[ContactEvent],
    signals: Sequence[Signal] = (),
    reservations: Sequence[Reservation] = (),
    last_response_channel: str | None = None,
    outbound_in_stage: int = 0,
) -> Activity:
    """Every contact given exactly, every day it falls on marked exact."""
    contacts = sorted(events, key=lambda e: e.at)
    outbound = [e.at for e in contacts if e.outbound]
    inbound = [e.at for e in contacts if not e.outbound]
    manual = [e for e in contacts if not e.automated]
    return Activity(
        last_contact_at=contacts[-1].at if contacts else None,
        last_outbound_at=max(outbound, default=None),
        last_inbound_at=max(inbound, default=None),
        last_manual_contact_at=manual[-1].at if manual else None,
        last_manual_outbound_at=max((e.at for e in manual if e.outbound), default=None),
        last_response_channel=last_response_channel,
        outbound_in_stage=outbound_in_stage,
        events=tuple(contacts),
        exact_days=frozenset(utc_day(e.at) for e in contacts),
        signals=tuple(signals),
        reservations=tuple(reservations),
    )


def day_counts(events: Iterable[ContactEvent]) -> tuple[DayCount, ...]:
    """Per UTC day, per channel counts of the given contacts, as the store keeps them."""
    return tuple(_tallies(events, lambda e: utc_day(e.at)))


def _tallies(
    events: Iterable[ContactEvent], day_of: Callable[[ContactEvent], date]
) -> list[DayCount]:
    tallies: dict[tuple[date, str], dict[str, Any]] = {}
    for e in events:
        tally = tallies.setdefault((day_of(e), e.channel), {})
        keys = ["outbound" if e.outbound else "inbound"]
        keys += ["outbound_automated"] if e.outbound and e.automated else []
        keys += [e.depth] if e.depth else []
        keys += ["engaged"] if e.outbound and e.engaged else []
        for key in keys:
            tally[key] = tally.get(key, 0) + 1
    return [
        DayCount(day=day, channel=channel, **tally)
        for (day, channel), tally in sorted(tallies.items())
    ]


def bucketed(exact: Activity, exact_days: Iterable[date]) -> Activity:
    """The same history with only ``exact_days`` given exactly, the rest as day counts."""
    keep = frozenset(exact_days)
    return replace(
        exact,
        days=day_counts(e for e in exact.events if utc_day(e.at) not in keep),
        exact_days=keep,
        events=tuple(e for e in exact.events if utc_day(e.at) in keep),
    )


def days_to_read(windows: Iterable[int], as_of: datetime) -> frozenset[date]:
    """The UTC days where the given windows start or end."""
    return frozenset(day for days in windows for day in Window(as_of, days).boundary_days())


def planned(exact: Activity, plan: BucketPlan) -> Activity:
    """The same history summarised the way the store follows a plan: runs of days and parts
    of days as buckets, the plan's exact days contact by contact."""
    buckets = [
        bucket(exact.events, day_span(first)[0], day_span(last)[1]) for first, last in plan.runs
    ]
    buckets += [
        [replace(b, first_at=earliest(exact.events, b)) for b in bucket(exact.events, *segment)]
        for segment in plan.segments
    ]
    return replace(
        exact,
        days=tuple(b for group in buckets for b in group),
        exact_days=plan.exact_days,
        events=tuple(e for e in exact.events if utc_day(e.at) in plan.exact_days),
    )


def earliest(events: Iterable[ContactEvent], b: DayCount) -> datetime:
    """The first contact of a bucket's channel in its stretch (as the store gives segments)."""
    after, until = span_of(b)
    return min(e.at for e in events if e.channel == b.channel and after < e.at <= until)


def bucket(events: Iterable[ContactEvent], after: datetime, until: datetime) -> list[DayCount]:
    """Per channel, the counts of the contacts in (after, until]."""
    inside = [e for e in events if after < e.at <= until]
    first = (after + MICROSECOND).astimezone(UTC).date()
    return [
        replace(counts, day=first, after=after, until=until)
        for counts in _tallies(inside, lambda e: first)
    ]


def make_profile(**kw: Any) -> Profile:
    fields: dict[str, Any] = {
        "customer_id": "c-1",
        "created_at": CREATED,
        "stage_entered_at": CREATED,
    }
    return Profile(**(fields | kw))


def make_rule(name: str = "r", match: Match | None = None, **kw: Any) -> Rule:
    fields: dict[str, Any] = {"follow_up_days": 7, "overdue_after_days": 10}
    return Rule(name=name, match=match or Match(), **(fields | kw))


def make_policy(*rules: Rule, **kw: Any) -> Policy:
    """A policy of the given rules (a catch-all by default) and no calendar."""
    return Policy(rules=rules or (make_rule(),), **kw)
