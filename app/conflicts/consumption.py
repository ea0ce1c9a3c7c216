"""A contact carries out the open plan of its customer, channel and actor: the plan is done
(and a reservation stops counting against caps, the contact itself counting instead)."""

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from app import cadence
from app.actors import actor_from
from app.conflicts import repository

# A contact may be dated a little before the check that reserved it (clocks differ); a
# visit filed for a day may happen the day before as well as the day itself.
CLOCK_SKEW = timedelta(minutes=5)
FILED_PLAN_EARLY = timedelta(hours=24)


def consumable_from(plan: RowMapping) -> datetime:
    """The earliest contact that carries a plan out: near its time, never before it was made."""
    early = CLOCK_SKEW if plan["kind"] == "reservation" else FILED_PLAN_EARLY
    start: datetime = max(plan["planned_at"] - early, plan["created_at"] - CLOCK_SKEW)
    return start


def carries_out(contact: Mapping[str, Any], plan: RowMapping) -> bool:
    return (
        contact["customer_id"] == plan["customer_id"]
        and contact["channel"] == plan["channel"]
        and consumable_from(plan) <= contact["occurred_at"] < plan["expires_at"]
        and actor_from(contact).is_same_as(actor_from(plan))
    )


async def consume_plans(
    session: AsyncSession, tenant_id: uuid.UUID, contacts: Sequence[Mapping[str, Any]]
) -> None:
    """Mark done the oldest open plan each new outbound contact carries out."""
    made = [
        c for c in contacts if c["direction"] == "outbound" and actor_from(c) != cadence.Actor()
    ]
    if not made:
        return
    since = min(c["occurred_at"] for c in made)
    plans = await repository.open_for_customers(
        session, tenant_id, [c["customer_id"] for c in made], since
    )
    consumed: list[tuple[uuid.UUID, uuid.UUID]] = []
    for contact in sorted(made, key=lambda c: c["occurred_at"]):
        plan = next((p for p in plans if carries_out(contact, p)), None)
        if plan is not None:
            consumed.append((plan["id"], contact["id"]))
            plans.remove(plan)
    await repository.mark_done(session, tenant_id, consumed)
