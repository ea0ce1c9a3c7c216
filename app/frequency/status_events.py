"""Outbound events of customers entering a status: noticed where verdicts are stored (a
write's refresh, or time alone moving a customer on), by comparing the stored status with
the new one under the schedule row's lock, so each entry is recorded once."""

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from app import cadence
from app.db import Fetch, driver_fetch
from app.events import outbox
from app.events.schemas import EventType
from app.frequency import documents, judging, repository
from app.schemas import format_utc

ENTERED = {
    cadence.StatusCode.due.value: EventType.customer_due,
    cadence.StatusCode.overdue.value: EventType.customer_overdue,
    cadence.StatusCode.over_contacted.value: EventType.customer_over_contacted,
    cadence.StatusCode.suppressed.value: EventType.customer_suppressed,
}
TYPES = [str(t) for t in ENTERED.values()]
# The statuses from which time alone leads to due or overdue, at due_at or overdue_at.
TIME_DRIVEN_FROM = {"due": ("on_track",), "overdue": ("on_track", "due")}


def entered_at(row: Mapping[str, Any], before: Mapping[str, Any] | None) -> datetime:
    """When the customer entered the status: the instant time crossed (``due_at``,
    ``overdue_at``) if it did since the last refresh, else the refresh's instant."""
    now: datetime = row["refreshed_at"]
    if before is None or before["status"] not in TIME_DRIVEN_FROM.get(row["status"], ()):
        return now  # something else held the customer: it entered when that ended, or now
    crossed = row["due_at"] if row["status"] == "due" else row["overdue_at"]
    if crossed is not None and before["refreshed_at"] < crossed <= now:
        return crossed  # type: ignore[no-any-return]
    return now


def entries(
    tenant_id: uuid.UUID,
    schedules: Sequence[Mapping[str, Any]],
    docs: Sequence[Mapping[str, Any]],
    stored: Mapping[str, Mapping[str, Any]],
) -> list[outbox.NewEvent]:
    """The events of the customers whose new verdict enters one of the statuses (a verdict
    older than the stored one is not stored, so enters nothing)."""
    encoded = {doc["customer_id"]: doc["document"] for doc in docs}
    events = []
    for row in schedules:
        customer_id, before = row["customer_id"], stored.get(row["customer_id"])
        event_type = ENTERED.get(row["status"])
        if event_type is None or (
            before is not None
            and (before["computed_seq"] > row["computed_seq"] or before["status"] == row["status"])
        ):
            continue
        data = documents.at_instant(encoded[customer_id], row["refreshed_at"]).decode()
        at = entered_at(row, before)
        events.append(outbox.NewEvent(tenant_id, event_type, at, data, customer_id))
    return events


async def entered_statuses(
    fetch: Fetch,
    tenant_id: uuid.UUID,
    schedules: Sequence[Mapping[str, Any]],
    docs: Sequence[Mapping[str, Any]],
) -> list[outbox.NewEvent]:
    """The status events of verdicts about to be stored, if an endpoint of the tenant takes
    any (else one probe of its endpoints, and nothing held)."""
    if not schedules or not await outbox.subscribed(fetch, tenant_id, TYPES):
        return []
    ids = [row["customer_id"] for row in schedules]
    return entries(
        tenant_id, schedules, docs, await repository.hold_statuses(fetch, tenant_id, ids)
    )


OPTING_OUT = frozenset({"unsubscribed", "complained"})


async def opted_out(
    session: AsyncSession, tenant_id: uuid.UUID, touches: Sequence[Mapping[str, Any]], now: datetime
) -> list[outbox.NewEvent]:
    """customer.opted_out for each unsubscribe or complaint among new touches, if an endpoint
    takes them: the customer's status judged now (the touch counted) and what arrived."""
    opting = [t for t in touches if t["kind"] == "engagement" and t["outcome"] in OPTING_OUT]
    fetch = await driver_fetch(session)
    if not opting or not await outbox.subscribed(fetch, tenant_id, [EventType.customer_opted_out]):
        return []
    statuses = await judging.judge_customers(
        session, tenant_id, [t["customer_id"] for t in opting], now
    )
    return [
        opted_out_event(tenant_id, touch, statuses[touch["customer_id"]], now) for touch in opting
    ]


def opted_out_event(
    tenant_id: uuid.UUID, touch: Mapping[str, Any], status: cadence.Status, now: datetime
) -> outbox.NewEvent:
    """The status judged with the opt-out counted, and what arrived."""
    data = {
        "as_of": format_utc(now),
        **documents.document(touch["customer_id"], status),
        "opt_out": {
            "touch_id": str(touch["id"]), "channel": touch["channel"],
            "outcome": touch["outcome"], "occurred_at": format_utc(touch["occurred_at"]),
        },
    }  # fmt: skip
    return outbox.NewEvent(
        tenant_id, EventType.customer_opted_out, touch["occurred_at"],
        orjson.dumps(data).decode(), touch["customer_id"],
    )  # fmt: skip
