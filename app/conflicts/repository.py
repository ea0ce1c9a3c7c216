"""SQL for contact plans (filed plans and reservations) and for who contacted a customer."""

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, RowMapping, Table, and_, func, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.conflicts.models import OPEN_STATUSES, ContactPlan
from app.db import Fetch, erase_customer_rows
from app.tenants import repository as tenants_repo
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


# A conflict check at the current instant in one statement: the key, the profile and the
# active policy version, the customer's stored document and facts if they may be served
# now, and what others plan or did around now (within the policy's recent_contact_hours).
CHECK_CONTEXT = (
    f"WITH {tenants_repo.live_key()},"
    " pol AS (SELECT coalesce(max(version), 0) AS version, make_interval(secs => 3600 *"
    " coalesce((SELECT (v.document->>'recent_contact_hours')::float8 FROM policy_versions v"
    " WHERE v.tenant_id = $1 ORDER BY v.version DESC LIMIT 1), 24)) AS recent"
    " FROM policy_versions WHERE tenant_id = $1)"
    " SELECT key.id, key.role, key.partner_id, pol.version AS policy_version, c.customer_id,"
    " c.created_at, c.stage_entered_at, c.segment, c.stage, c.market, c.industry, c.owner_rep,"
    " c.owner_team, c.timezone, c.country, c.preferences, c.rfm_segment, d.document, d.facts,"
    " (SELECT json_agg(json_build_array(p.actor_rep_id, p.actor_team, p.actor_partner_id,"
    " p.channel, p.planned_at, p.expires_at)) FROM contact_plans p WHERE p.tenant_id = $1"
    " AND p.customer_id = $3 AND p.status IN ('pending', 'approved') AND p.expires_at > $4"
    " AND p.planned_at BETWEEN $4 - pol.recent AND $4 + pol.recent) AS plans,"
    " (SELECT json_agg(json_build_array(t.actor_rep_id, t.actor_team, t.actor_partner_id, t.at))"
    " FROM (SELECT actor_rep_id, actor_team, actor_partner_id, max(occurred_at) AS at"
    " FROM touches WHERE tenant_id = $1 AND customer_id = $3 AND kind = 'contact'"
    " AND occurred_at > $4 - pol.recent AND occurred_at <= $4"
    " AND num_nonnulls(actor_rep_id, actor_team, actor_partner_id) > 0"
    " GROUP BY actor_rep_id, actor_team, actor_partner_id) AS t) AS contacts"
    " FROM key CROSS JOIN pol LEFT JOIN customers c ON c.tenant_id = $1 AND c.customer_id = $3"
    " LEFT JOIN status_documents d ON d.tenant_id = $1 AND d.customer_id = $3"
    " AND d.computed_at <= $4 AND (d.valid_until IS NULL OR d.valid_until > $4)"
    " AND NOT EXISTS (SELECT 1 FROM refresh_marks m WHERE m.tenant_id = $1"
    " AND m.customer_id = $3)"
)


async def check_context(
    driver: Any, tenant_id: uuid.UUID, key_hash: bytes, customer_id: str, now: datetime
) -> Mapping[str, Any] | None:
    """None: no live key. Else the key's row with the rest; ``customer_id`` null: no such
    customer; ``document`` null: it must be judged live."""
    row: Mapping[str, Any] | None = await driver.fetchrow(
        CHECK_CONTEXT, tenant_id, key_hash, customer_id, now
    )
    return row


ERASE_CONTACT_PLANS = erase_customer_rows("contact_plans")


async def erase_customer(fetch: Fetch, tenant_id: uuid.UUID, customer_id: str) -> None:
    """Erasure: delete the customer's contact plans."""
    await fetch(ERASE_CONTACT_PLANS, tenant_id, customer_id)
