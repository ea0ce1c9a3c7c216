"""What a stored touch changes besides its row: day counts, engagement flags, opt-outs and
the customer's schedule, all in the transaction that stores it."""

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.conflicts.consumption import consume_plans
from app.frequency import repository
from app.frequency.service import refresh_schedules

ENGAGING_OUTCOMES = frozenset({"opened", "clicked"})
DeltaKey = tuple[str, date, str]


def _key(customer_id: str, at: datetime, channel: str) -> DeltaKey:
    return customer_id, at.astimezone(UTC).date(), channel


def contact_delta(row: Mapping[Any, Any], sign: int = 1) -> dict[str, int]:
    """The day-count columns one contact adds to (or, with sign -1, takes from)."""
    delta: dict[str, int] = defaultdict(int)
    if row["direction"] == "outbound":
        delta["outbound"] += sign
        delta["outbound_automated"] += sign if row["automated"] else 0
    else:
        delta["inbound"] += sign
    if row.get("depth"):
        delta[row["depth"]] += sign
    if row.get("engaged") and row["direction"] == "outbound":
        delta["engaged"] += sign
    return delta


def add_into(
    deltas: dict[DeltaKey, dict[str, int]], key: DeltaKey, delta: Mapping[str, int]
) -> None:
    target = deltas.setdefault(key, defaultdict(int))
    for column, n in delta.items():
        target[column] += n


async def on_touches_stored(
    session: AsyncSession, tenant_id: uuid.UUID, rows: Sequence[Mapping[Any, Any]], now: datetime
) -> None:
    """Count new contacts, flag engaged ones, record opt-outs, refresh the schedules."""
    if not rows:
        return
    await repository.lock_customers(session, tenant_id, [r["customer_id"] for r in rows])
    deltas: dict[DeltaKey, dict[str, int]] = {}
    contacts = [r for r in rows if r["kind"] == "contact"]
    for row in contacts:
        add_into(
            deltas, _key(row["customer_id"], row["occurred_at"], row["channel"]), contact_delta(row)
        )
    engagements = [r for r in rows if r["kind"] == "engagement"]
    refs = [
        (r["source"], r["ref_external_id"], r["occurred_at"])
        for r in engagements
        if r["outcome"] in ENGAGING_OUTCOMES and r["ref_external_id"]
    ]
    flagged = await repository.mark_engaged(session, tenant_id, refs)
    for row in (r for r in flagged if r["direction"] == "outbound"):
        add_into(
            deltas, _key(row["customer_id"], row["occurred_at"], row["channel"]), {"engaged": 1}
        )
    await repository.add_day_counts(session, tenant_id, deltas)
    opt_outs = [
        (r["customer_id"], r["channel"]) for r in engagements if r["outcome"] == "unsubscribed"
    ]
    await repository.opt_out(session, tenant_id, opt_outs, now)
    await consume_plans(session, tenant_id, contacts)
    affected = {r["customer_id"] for r in rows} | {r["customer_id"] for r in flagged}
    await refresh_schedules(session, tenant_id, sorted(affected), now)


async def on_contacts_moved(
    session: AsyncSession, tenant_id: uuid.UUID, moved: Iterable[Mapping[Any, Any]], now: datetime
) -> None:
    """Contacts whose ``occurred_at`` moved (a provider's earlier event came late)."""
    deltas: dict[DeltaKey, dict[str, int]] = {}
    customers: set[str] = set()
    for row in moved:
        customers.add(row["customer_id"])
        add_into(
            deltas, _key(row["customer_id"], row["old_at"], row["channel"]), contact_delta(row, -1)
        )
        add_into(
            deltas, _key(row["customer_id"], row["occurred_at"], row["channel"]), contact_delta(row)
        )
    await repository.add_day_counts(session, tenant_id, deltas)
    await refresh_schedules(session, tenant_id, sorted(customers), now)
