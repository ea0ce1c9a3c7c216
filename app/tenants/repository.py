"""SQL for tenants and API keys."""

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.tenants.models import ApiKey, Tenant


async def ensure_tenant(session: AsyncSession, name: str, now: datetime) -> uuid.UUID:
    """The tenant's id, creating the tenant if it is new."""
    stmt = (
        pg_insert(Tenant)
        .values(id=uuid.uuid4(), name=name, created_at=now)
        .on_conflict_do_nothing(index_elements=[Tenant.name])
    )
    await session.execute(stmt)
    tenant_id = await session.scalar(select(Tenant.id).where(Tenant.name == name))
    assert tenant_id is not None
    return tenant_id


def live_key(tenant: str = "$1", key_hash: str = "$2") -> str:
    """``key AS (...)``: the caller's live key (id, role, partner_id), for the WITH of a hot
    route's statement that checks its key itself."""
    return (
        "key AS (SELECT id, role, partner_id FROM api_keys WHERE tenant_id = "
        f"{tenant} AND key_hash = {key_hash} AND revoked_at IS NULL)"
    )


# The key's columns in the row of such a statement (``key`` joined as ``k``).
KEY_SELECTED = "k.id AS key_id, k.role, k.partner_id"


def key_selected(row: Mapping[str, Any]) -> dict[str, Any] | None:
    """The key's row (id, role, partner_id) a statement selected as ``KEY_SELECTED``; None
    when no live key answered."""
    if row["key_id"] is None:
        return None
    return {"id": row["key_id"], "role": row["role"], "partner_id": row["partner_id"]}


FIND_ACTIVE_KEY = text(
    "SELECT id, role, partner_id FROM api_keys"
    " WHERE tenant_id = :tenant_id AND key_hash = :key_hash AND revoked_at IS NULL"
)


async def find_active_key(
    session: AsyncSession, tenant_id: uuid.UUID, key_hash: bytes
) -> RowMapping | None:
    """The key's id, role and partner, if it is a live key of the tenant (on every request)."""
    params = {"tenant_id": tenant_id, "key_hash": key_hash}
    row: RowMapping | None = (
        (await session.execute(FIND_ACTIVE_KEY, params)).mappings().one_or_none()
    )
    return row


async def add_key(session: AsyncSession, key: ApiKey) -> None:
    await session.execute(
        insert(ApiKey).values(
            tenant_id=key.tenant_id,
            id=key.id,
            key_hash=key.key_hash,
            role=key.role,
            partner_id=key.partner_id,
            name=key.name,
            created_at=key.created_at,
        )
    )


async def list_keys(
    session: AsyncSession, tenant_id: uuid.UUID, *, after: uuid.UUID | None, limit: int
) -> list[ApiKey]:
    stmt = select(ApiKey).where(ApiKey.tenant_id == tenant_id)
    if after is not None:
        stmt = stmt.where(ApiKey.id > after)
    return list(await session.scalars(stmt.order_by(ApiKey.id).limit(limit)))


async def revoke_key(
    session: AsyncSession, tenant_id: uuid.UUID, key_id: uuid.UUID, now: datetime
) -> bool:
    result = await session.execute(
        update(ApiKey)
        .where(ApiKey.tenant_id == tenant_id, ApiKey.id == key_id)
        .values(revoked_at=func.coalesce(ApiKey.revoked_at, now))
        .returning(ApiKey.id)
    )
    return result.first() is not None
