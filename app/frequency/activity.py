"""Assemble the engine's Activity for many customers from one set-based query."""

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from app import cadence
from app.cadence.windows import MICROSECOND, day_span, span_of
from app.db import Fetch
from app.frequency import repository


async def load(
    fetch: Fetch,
    tenant_id: uuid.UUID,
    policy: cadence.Policy,
    profiles: Sequence[cadence.Profile],
    as_of: datetime,
    plan: cadence.BucketPlan,
) -> dict[str, cadence.Activity]:
    """Each customer's activity up to ``as_of``, summarised as the plan says; unsubscribes and
    complaints of the last year, or longer if a complaint pause is; the reservations open
    at ``as_of`` and the locks active then."""
    signal_days = max(cadence.SIGNAL_LOOKBACK_DAYS, policy.complaint_pause_days)
    rows = await repository.activities(
        fetch, tenant_id, {p.customer_id: p.stage_entered_at for p in profiles}, as_of,
        runs=plan.runs, segments=plan.segments, exact_days=sorted(plan.exact_days),
        signals_since=as_of - timedelta(days=signal_days),
        engaged_since=as_of - timedelta(days=max(cadence.FATIGUE_WINDOWS)),
        ordinal_limit=cadence.ordinal_limit(policy),
    )  # fmt: skip
    return {row["customer_id"]: _activity(row, plan) for row in rows}


def _latest(*instants: datetime | None) -> datetime | None:
    return max((t for t in instants if t is not None), default=None)


def _activity(row: Mapping[Any, Any], plan: cadence.BucketPlan) -> cadence.Activity:
    last_outbound, last_inbound = row["last_outbound_at"], row["last_inbound_at"]
    buckets = [
        *(_run(item, plan) for item in _items(row["runs"])),
        *(_segment(item, plan) for item in _items(row["segments"])),
    ]
    return cadence.Activity(
        last_contact_at=_latest(last_outbound, last_inbound),
        last_outbound_at=last_outbound,
        last_inbound_at=last_inbound,
        last_manual_contact_at=_latest(
            row["last_manual_outbound_at"], row["last_manual_inbound_at"]
        ),
        last_manual_outbound_at=row["last_manual_outbound_at"],
        last_response_channel=row["last_response_channel"],
        outbound_in_stage=row["outbound_in_stage"],
        days=_unengaged(buckets, [_at(at) for (at,) in _items(row["late_engaged"])]),
        exact_days=plan.exact_days,
        events=tuple(_event(item) for item in _items(row["events"])),
        signals=tuple(
            cadence.Signal(_at(at), cadence.SignalKind(outcome), channel)
            for at, outcome, channel in _items(row["signals"])
        ),
        reservations=tuple(
            cadence.Reservation(channel, _at(planned), _at(expires))
            for channel, planned, expires in _items(row["reservations"])
        ),
        locks=tuple(
            cadence.LockHold(cadence.Actor(rep, team, partner), _at(starts), _at(ends))
            for rep, team, partner, starts, ends in _items(row["locks"])
        ),
        next_touch_at=row["next_touch_at"],
    )


def _unengaged(
    buckets: list[cadence.DayCount], late: Sequence[datetime]
) -> tuple[cadence.DayCount, ...]:
    """Buckets count an email engaged whenever its engagement came; take out those engaged
    only after the instant judged (their send instants are ``late``)."""
    for at in late:
        for index, bucket in enumerate(buckets):
            after, until = span_of(bucket)
            if bucket.channel == "email" and after < at <= until:
                buckets[index] = replace(bucket, engaged=bucket.engaged - 1)
                break
    return tuple(buckets)


def _items(value: list[Any] | None) -> list[Any]:
    """A JSON array of arrays, as the query aggregates them (NULL when there are none)."""
    return value or []


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _run(item: list[Any], plan: cadence.BucketPlan) -> cadence.DayCount:
    idx, channel, *counts = item
    first, last = plan.runs[idx - 1]
    return _bucket(first, channel, counts, day_span(first)[0], day_span(last)[1], None)


def _segment(item: list[Any], plan: cadence.BucketPlan) -> cadence.DayCount:
    idx, channel, *counts, first_at = item
    after, until = plan.segments[idx - 1]
    first = (after + MICROSECOND).astimezone(UTC).date()
    return _bucket(first, channel, counts, after, until, _at(first_at))


def _bucket(
    first: date,
    channel: str,
    counts: list[int],
    after: datetime,
    until: datetime,
    first_at: datetime | None,
) -> cadence.DayCount:
    outbound, automated, inbound, light, value, deep, engaged = counts  # COUNT_COLUMNS
    return cadence.DayCount(
        first, channel, outbound, automated, inbound, light, value, deep, engaged,
        after=after, until=until, first_at=first_at,
    )  # fmt: skip


def _event(item: list[Any]) -> cadence.ContactEvent:
    at, channel, outbound, automated, depth, engaged = item
    return cadence.ContactEvent(_at(at), channel, outbound, automated, depth, engaged)
