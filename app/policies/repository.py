"""SQL for policy versions."""

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

from sqlalchemy import RowMapping, ScalarSelect, Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import Fetch
from app.policies.models import PolicyVersion
from app.tenants.models import Tenant

versions = cast(Table, PolicyVersion.__table__)


async def active(session: AsyncSession, tenant_id: uuid.UUID) -> RowMapping | None:
    stmt = (
        select(versions)
        .where(versions.c.tenant_id == tenant_id)
        .order_by(versions.c.version.desc())
        .limit(1)
    )
    row: RowMapping | None = (await session.execute(stmt)).mappings().one_or_none()
    return row


def active_version_of(tenant_id: Any) -> ScalarSelect[Any]:
    """The tenant's active policy version (0: the built-in default), as a subquery."""
    return (
        select(func.coalesce(func.max(versions.c.version), 0))
        .where(versions.c.tenant_id == tenant_id)
        .scalar_subquery()
    )


def active_version_sql(tenant: str) -> str:
    """``active_version_of`` in SQL text, for the tenant expression given (a parameter)."""
    return (
        f"(SELECT coalesce(max(v.version), 0) FROM policy_versions v WHERE v.tenant_id = {tenant})"
    )


async def active_version(session: AsyncSession, tenant_id: uuid.UUID) -> int:
    return int(await session.scalar(select(active_version_of(tenant_id))) or 0)


async def get_version(session: AsyncSession, tenant_id: uuid.UUID, version: int) -> RowMapping:
    stmt = select(versions).where(versions.c.tenant_id == tenant_id, versions.c.version == version)
    return (await session.execute(stmt)).mappings().one()


async def add_next(
    session: AsyncSession, tenant_id: uuid.UUID, document: dict[str, Any], now: datetime
) -> RowMapping:
    """Store the document as the next version; the tenant's row lock serialises writers."""
    await session.execute(select(Tenant.id).where(Tenant.id == tenant_id).with_for_update())
    latest = await session.scalar(
        select(func.coalesce(func.max(versions.c.version), 0)).where(
            versions.c.tenant_id == tenant_id
        )
    )
    stmt = (
        insert(versions)
        .values(
            tenant_id=tenant_id, version=int(latest or 0) + 1, document=document, created_at=now
        )
        .returning(*versions.c)
    )
    return (await session.execute(stmt)).mappings().one()


async def list_page(
    session: AsyncSession, tenant_id: uuid.UUID, *, below: int | None, limit: int
) -> list[RowMapping]:
    stmt = select(versions).where(versions.c.tenant_id == tenant_id)
    if below is not None:
        stmt = stmt.where(versions.c.version < below)
    stmt = stmt.order_by(versions.c.version.desc()).limit(limit)
    return list((await session.execute(stmt)).mappings())


# Each tenant whose active policy limits retention, with what else its policy keeps touches
# for: the RFM window (purchases) and the complaint pause (complaints).
RETAINING = (
    "SELECT tenant_id, (document ->> 'retention_days')::int AS retention_days,"
    " (document -> 'rfm' ->> 'window_days')::int AS rfm_window_days,"
    " (document ->> 'complaint_pause_days')::int AS complaint_pause_days"
    " FROM (SELECT DISTINCT ON (tenant_id) tenant_id, document FROM policy_versions"
    " ORDER BY tenant_id, version DESC) AS active"
    " WHERE document ->> 'retention_days' IS NOT NULL"
)


async def retaining(fetch: Fetch) -> list[Mapping[str, Any]]:
    return list(await fetch(RETAINING))
