"""The audit log: every lock claim, refusal, renewal and release, plan decision and reserving
check, written in the transaction of the decision it records."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from app import cadence
from app.actors import actor_columns, actor_dict, actor_from
from app.audit import repository
from app.audit.schemas import Action, AuditRead
from app.tenants.service import Principal


async def record(
    session: AsyncSession,
    principal: Principal,
    action: Action,
    outcome: str,
    *,
    at: datetime,
    customer_id: str | None,
    actor: cadence.Actor | None = None,
    lock_id: uuid.UUID | None = None,
    plan_id: uuid.UUID | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Add an entry; the caller's commit makes it durable with the decision itself."""
    actor = actor or cadence.Actor(partner_id=principal.partner_id)
    await repository.add(
        session,
        {
            "tenant_id": principal.tenant_id,
            "id": uuid.uuid4(),
            "at": at,
            "action": action.value,
            "outcome": outcome,
            "customer_id": customer_id,
            "api_key_id": principal.key_id,
            **actor_columns(actor),
            "lock_id": lock_id,
            "plan_id": plan_id,
            "details": details or {},
        },
    )


def to_read(row: RowMapping) -> AuditRead:
    return AuditRead.model_validate({**row, "actor": actor_dict(actor_from(row))})


async def list_events(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    customer_id: str | None,
    since: datetime | None,
    until: datetime | None,
    before: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[AuditRead]:
    rows = await repository.list_page(
        session, tenant_id, customer_id=customer_id, since=since, until=until, before=before,
        limit=limit,
    )  # fmt: skip
    return [to_read(row) for row in rows]
