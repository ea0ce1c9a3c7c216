"""SQL for idempotency records."""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import cast

from sqlalchemy import ColumnElement, RowMapping, Table, delete, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.idempotency.models import IdempotencyRecord

records = cast(Table, IdempotencyRecord.__table__)


@dataclass(frozen=True, slots=True)
class Claim:
    """One run of a request under a key: the record's key and the run that holds it."""

    tenant_id: uuid.UUID
    api_key_id: uuid.UUID
    key: str
    run_id: uuid.UUID = field(default_factory=uuid.uuid4)


def _key(tenant_id: uuid.UUID, api_key_id: uuid.UUID, key: str) -> list[ColumnElement[bool]]:
    return [
        records.c.tenant_id == tenant_id,
        records.c.api_key_id == api_key_id,
        records.c.key == key,
    ]


def _owned(claim: Claim) -> list[ColumnElement[bool]]:
    return [*_key(claim.tenant_id, claim.api_key_id, claim.key), records.c.run_id == claim.run_id]


async def claim(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    api_key_id: uuid.UUID,
    key: str,
    request_hash: bytes,
    now: datetime,
    lease_until: datetime,
    expired_before: datetime,
    *,
    run_id: uuid.UUID | None = None,
) -> RowMapping | None:
    """Take the key for this request (None), else the record that holds it."""
    values = {
        "tenant_id": tenant_id,
        "api_key_id": api_key_id,
        "key": key,
        "request_hash": request_hash,
        "state": "running",
        "created_at": now,
        "lease_until": lease_until,
        "run_id": run_id or uuid.uuid4(),
        "response_status": None,
        "response_content_type": None,
        "response_body": None,
    }
    insert = pg_insert(records).values(**values)
    # A record past its 24 hours, or a run whose process died (its lease lapsed), is taken over.
    stmt = insert.on_conflict_do_update(
        index_elements=[records.c.tenant_id, records.c.api_key_id, records.c.key],
        set_={
            name: insert.excluded[name]
            for name in values
            if name not in ("tenant_id", "api_key_id", "key")
        },
        where=(records.c.created_at < expired_before)
        | ((records.c.state == "running") & (records.c.lease_until < now)),
    ).returning(records.c.key)
    taken = (await session.execute(stmt)).first() is not None
    await session.commit()
    if taken:
        return None
    found = await session.execute(select(records).where(*_key(tenant_id, api_key_id, key)))
    return found.mappings().one_or_none()


async def renew(session: AsyncSession, claims: Iterable[Claim], lease_until: datetime) -> None:
    """Extend the leases of runs still going (a run taken over is no longer ours to extend)."""
    runs = [(c.tenant_id, c.api_key_id, c.key, c.run_id) for c in claims]
    if not runs:
        return
    columns = (records.c.tenant_id, records.c.api_key_id, records.c.key, records.c.run_id)
    await session.execute(
        update(records)
        .where(tuple_(*columns).in_(runs), records.c.state == "running")
        .values(lease_until=lease_until)
    )
    await session.commit()


PURGE_EXPIRED = text(
    "DELETE FROM idempotency_keys WHERE ctid = ANY(ARRAY(SELECT ctid FROM idempotency_keys"
    " WHERE created_at < :before LIMIT :batch))"
)


async def purge_expired(session: AsyncSession, before: datetime, batch: int = 100) -> None:
    """Forget a few records past their window; every finished request sweeps a little."""
    await session.execute(PURGE_EXPIRED, {"before": before, "batch": batch})


async def finish(
    session: AsyncSession, claim: Claim, status: int, content_type: str | None, body: bytes
) -> None:
    await session.execute(
        update(records)
        .where(*_owned(claim))
        .values(
            state="done",
            response_status=status,
            response_content_type=content_type,
            response_body=body,
        )
    )
    await session.commit()


async def release(session: AsyncSession, claim: Claim) -> None:
    await session.execute(delete(records).where(*_owned(claim)))
    await session.commit()
