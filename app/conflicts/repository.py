"""SQL for contact plans (filed plans and reservations) and for who contacted a customer."""

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, RowMapping, Table, and_, func, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.conflicts.models import OPEN_STATUSES, ContactPlan
from app.touches.models import Touch

plans = cast(Table, ContactPlan.__table__)
touches = cast(Table, Touch.__table__)


def is_open(at: datetime) -> ColumnElement[bool]:
    return and_(plans.c.status.in_(OPEN_STATUSES), plans.c.expires_at > at)


def status_is(status: str, now: datetime) -> ColumnElement[bool]:
    c = plans.c
    if status == "expired":
        return and_(c.status.in_(OPEN_STATUSES), c.expires_at <= now)
    if status in OPEN_STATUSES:
        return and_(c.status == status, c.expires_at > now)
    return c.status == status


async def add(session: AsyncSession, row: dict[str, Any]) -> RowMapping:
    stmt = insert(plans).values(**row).returning(*plans.c)
    return (await session.execute(stmt)).mappings().one()


async def get(session: AsyncSession, tenant_id: uuid.UUID, plan_id: uuid.UUID) -> RowMapping | None:
    stmt = select(plans).where(plans.c.tenant_id == tenant_id, plans.c.id == plan_id)
    return (await session.execute(stmt)).mappings().one_or_none()


async def decide(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    plan_id: uuid.UUID,
    *,
    status: str,
    now: datetime,
    key_id: uuid.UUID,
) -> RowMapping | None:
    """Approve or reject a pending, unexpired plan; None if it is not one."""
    stmt = (
        update(plans)
        .where(plans.c.tenant_id == tenant_id, plans.c.id == plan_id)
        .where(plans.c.status == "pending", plans.c.expires_at > now)
        .values(status=status, decided_at=now, decided_by_key=key_id)
        .returning(*plans.c)
    )
    return (await session.execute(stmt)).mappings().one_or_none()


async def open_near(
    session: AsyncSession, tenant_id: uuid.UUID, customer_id: str, at: datetime, window: timedelta
) -> list[RowMapping]:
    """Open plans of a customer planned within ``window`` of ``at``."""
    c = plans.c
    stmt = select(plans).where(
        c.tenant_id == tenant_id,
        c.customer_id == customer_id,
        is_open(at),
        c.planned_at.between(at - window, at + window),
    )
    return list((await session.execute(stmt)).mappings())


async def open_for_customers(
    session: AsyncSession, tenant_id: uuid.UUID, customer_ids: Sequence[str], since: datetime
) -> list[RowMapping]:
    """Plans that a touch since ``since`` could consume, oldest first."""
    c = plans.c
    stmt = (
        select(plans)
        .where(c.tenant_id == tenant_id, c.customer_id.in_(sorted(set(customer_ids))))
        .where(c.status.in_(OPEN_STATUSES), c.expires_at > since)
        .order_by(c.created_at, c.id)
    )
    return list((await session.execute(stmt)).mappings())


MARK_DONE = text(
    "UPDATE contact_plans p SET status = 'done', touch_id = u.touch_id"
    " FROM unnest(CAST(:plan_ids AS uuid[]), CAST(:touch_ids AS uuid[])) AS u(plan_id, touch_id)"
    " WHERE p.tenant_id = :tenant_id AND p.id = u.plan_id"
)


async def mark_done(
    session: AsyncSession, tenant_id: uuid.UUID, consumed: Sequence[tuple[uuid.UUID, uuid.UUID]]
) -> None:
    """Mark (plan id, touch id) pairs done: the touch consumed the plan."""
    if not consumed:
        return
    ordered = sorted(consumed)
    params = {
        "tenant_id": tenant_id,
        "plan_ids": [plan_id for plan_id, _ in ordered],
        "touch_ids": [touch_id for _, touch_id in ordered],
    }
    await session.execute(MARK_DONE, params)


async def list_page(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    customer_id: str | None,
    status: str | None,
    partner_id: str | None,
    now: datetime,
    before: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[RowMapping]:
    c = plans.c
    stmt = select(plans).where(c.tenant_id == tenant_id)
    if customer_id is not None:
        stmt = stmt.where(c.customer_id == customer_id)
    if partner_id is not None:
        stmt = stmt.where(c.actor_partner_id == partner_id)
    if status is not None:
        stmt = stmt.where(status_is(status, now))
    if before is not None:
        stmt = stmt.where(tuple_(c.created_at, c.id) < before)
    stmt = stmt.order_by(c.created_at.desc(), c.id.desc()).limit(limit)
    return list((await session.execute(stmt)).mappings())


async def recent_contacts_by_actors(
    session: AsyncSession, tenant_id: uuid.UUID, customer_id: str, since: datetime, until: datetime
) -> list[RowMapping]:
    """Each actor's last contact in (since, until]: one row per actor, off the history index."""
    t = touches.c
    actors = (t.actor_rep_id, t.actor_team, t.actor_partner_id)
    stmt = (
        select(*actors, func.max(t.occurred_at).label("at"))
        .where(t.tenant_id == tenant_id, t.customer_id == customer_id, t.kind == "contact")
        .where(t.occurred_at > since, t.occurred_at <= until)
        .where(func.num_nonnulls(*actors) > 0)
        .group_by(*actors)
    )
    return list((await session.execute(stmt)).mappings())
