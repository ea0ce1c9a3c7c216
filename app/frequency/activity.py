"""Assemble the engine's Activity for many customers from a few set-based queries."""

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime

from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from app import cadence
from app.actors import actor_from
from app.cadence.windows import MICROSECOND, day_span
from app.conflicts import repository as plans_repo
from app.frequency import repository
from app.locks import repository as locks_repo

SIGNAL_LOOKBACK_DAYS = 366


async def load(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    ids: Sequence[str],
    as_of: datetime,
    plan: cadence.BucketPlan,
    signal_days: int = SIGNAL_LOOKBACK_DAYS,
    *,
    with_locks: bool = False,
) -> dict[str, cadence.Activity]:
    """Each customer's activity up to ``as_of``, summarised as the plan says; unsubscribes and
    complaints of the last ``signal_days`` (a complaint pause may be long); the reservations
    open at ``as_of``, and with ``with_locks`` the locks active then."""
    lasts = await repository.last_contacts(session, tenant_id, ids, as_of)
    runs = await repository.run_counts(session, tenant_id, ids, plan.runs)
    segments = await repository.segment_counts(session, tenant_id, ids, plan.segments)
    events = await repository.exact_contacts(
        session, tenant_id, ids, sorted(plan.exact_days), as_of
    )
    signal_rows = await repository.signals(session, tenant_id, ids, as_of, signal_days)
    reservations_of = _reservations(
        await plans_repo.open_reservations(session, tenant_id, ids, as_of)
    )
    locks_of = (
        _locks(await locks_repo.active_for(session, tenant_id, ids, as_of)) if with_locks else {}
    )

    days_of: dict[str, list[cadence.DayCount]] = defaultdict(list)
    for row in runs:
        first, last = plan.runs[row["idx"] - 1]
        after, until = day_span(first)[0], day_span(last)[1]
        days_of[row["customer_id"]].append(_bucket(row, first, after, until))
    for row in segments:
        after, until = plan.segments[row["idx"] - 1]
        first = (after + MICROSECOND).astimezone(UTC).date()
        days_of[row["customer_id"]].append(_bucket(row, first, after, until))
    events_of: dict[str, list[cadence.ContactEvent]] = defaultdict(list)
    for row in events:
        events_of[row["customer_id"]].append(
            cadence.ContactEvent(
                at=row["occurred_at"],
                channel=row["channel"],
                outbound=row["direction"] == "outbound",
                automated=row["automated"],
                depth=row["depth"],
                engaged=row["engaged"],
            )
        )
    signals_of: dict[str, list[cadence.Signal]] = defaultdict(list)
    for row in signal_rows:
        signals_of[row["customer_id"]].append(
            cadence.Signal(row["occurred_at"], cadence.SignalKind(row["outcome"]), row["channel"])
        )
    return {
        row["customer_id"]: cadence.Activity(
            last_contact_at=max(
                (t for t in (row["last_outbound_at"], row["last_inbound_at"]) if t), default=None
            ),
            last_outbound_at=row["last_outbound_at"],
            last_inbound_at=row["last_inbound_at"],
            last_response_channel=row["last_response_channel"],
            days=tuple(days_of[row["customer_id"]]),
            exact_days=plan.exact_days,
            events=tuple(events_of[row["customer_id"]]),
            signals=tuple(signals_of[row["customer_id"]]),
            reservations=tuple(reservations_of.get(row["customer_id"], ())),
            locks=tuple(locks_of.get(row["customer_id"], ())),
        )
        for row in lasts
    }


def _bucket(row: RowMapping, first: date, after: datetime, until: datetime) -> cadence.DayCount:
    counts = {column: row[column] for column in repository.COUNT_COLUMNS}
    return cadence.DayCount(
        first, row["channel"], **counts, after=after, until=until, first_at=row.get("first_at")
    )


def _reservations(rows: Iterable[RowMapping]) -> dict[str, list[cadence.Reservation]]:
    found: dict[str, list[cadence.Reservation]] = defaultdict(list)
    for row in rows:
        found[row["customer_id"]].append(
            cadence.Reservation(row["channel"], row["planned_at"], row["expires_at"])
        )
    return found


def _locks(rows: Iterable[RowMapping]) -> dict[str, list[cadence.LockHold]]:
    found: dict[str, list[cadence.LockHold]] = defaultdict(list)
    for row in rows:
        holder = actor_from(row, prefix="holder_")
        ends_at = min(t for t in (row["expires_at"], row["released_at"]) if t is not None)
        found[row["customer_id"]].append(cadence.LockHold(holder, row["starts_at"], ends_at))
    return found
