"""The per-day contact counts the frequency windows read, kept with the touches: new
contacts, contacts newly engaged and contacts whose instant moved add to them."""

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.frequency import repository

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


async def count_contacts(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    contacts: Sequence[Mapping[Any, Any]],
    newly_engaged: Sequence[Mapping[Any, Any]],
) -> None:
    """Add new contacts, and earlier contacts an engagement has just reached, to the counts."""
    deltas: dict[DeltaKey, dict[str, int]] = {}
    for row in contacts:
        key = _key(row["customer_id"], row["occurred_at"], row["channel"])
        add_into(deltas, key, contact_delta(row))
    for row in (r for r in newly_engaged if r["direction"] == "outbound"):
        add_into(
            deltas, _key(row["customer_id"], row["occurred_at"], row["channel"]), {"engaged": 1}
        )
    await repository.add_day_counts(session, tenant_id, deltas)


async def recount_moved(
    session: AsyncSession, tenant_id: uuid.UUID, moved: Iterable[Mapping[Any, Any]]
) -> None:
    """Contacts whose ``occurred_at`` moved (a provider's earlier event came late)."""
    deltas: dict[DeltaKey, dict[str, int]] = {}
    for row in moved:
        add_into(
            deltas, _key(row["customer_id"], row["old_at"], row["channel"]), contact_delta(row, -1)
        )
        add_into(
            deltas, _key(row["customer_id"], row["occurred_at"], row["channel"]), contact_delta(row)
        )
    await repository.add_day_counts(session, tenant_id, deltas)
