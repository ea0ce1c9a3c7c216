"""Event endpoints: where a tenant's events go, managed by its admins."""

import base64
import secrets
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Conflict, Invalid, NotFound
from app.events import repository, urls
from app.events.schemas import (
    DeliveryRead,
    DeliveryStatus,
    EndpointCreate,
    EndpointCreated,
    EndpointRead,
    EndpointUpdate,
)

SECRET_PREFIX = "whsec_"
DISABLED_BY_ADMIN = "endpoint disabled"


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _checked_url(url: str, allow_private: bool) -> str:
    if (why := urls.refused_url(url, allow_private)) is not None:
        raise Invalid.at(["body", "url"], f"url {why}")
    return url


def _events(selected: list[Any]) -> list[str]:
    return ["*"] if "*" in selected else sorted(str(e) for e in selected)


async def create_endpoint(
    session: AsyncSession, tenant_id: uuid.UUID, body: EndpointCreate, allow_private: bool,
    now: datetime,
) -> EndpointCreated:  # fmt: skip
    row = await repository.add_endpoint(
        session,
        {
            "tenant_id": tenant_id, "id": uuid.uuid4(),
            "url": _checked_url(body.url, allow_private), "events": _events(body.events),
            "description": body.description, "status": "enabled", "secret": new_secret(),
            "created_at": now, "updated_at": now,
        },
    )  # fmt: skip
    await session.commit()
    return EndpointCreated.model_validate(row)


async def _endpoint(
    session: AsyncSession, tenant_id: uuid.UUID, endpoint_id: uuid.UUID, *, for_update: bool = False
) -> RowMapping:
    row = await repository.get_endpoint(session, tenant_id, endpoint_id, for_update=for_update)
    if row is None:
        raise NotFound("No such event endpoint.")
    return row


async def get_endpoint(
    session: AsyncSession, tenant_id: uuid.UUID, endpoint_id: uuid.UUID
) -> EndpointRead:
    return EndpointRead.model_validate(await _endpoint(session, tenant_id, endpoint_id))


async def list_endpoints(
    session: AsyncSession, tenant_id: uuid.UUID, after: uuid.UUID | None, limit: int
) -> list[EndpointRead]:
    rows = await repository.list_endpoints(session, tenant_id, after=after, limit=limit)
    return [EndpointRead.model_validate(row) for row in rows]


async def update_endpoint(
    session: AsyncSession, tenant_id: uuid.UUID, endpoint_id: uuid.UUID, body: EndpointUpdate,
    allow_private: bool, now: datetime,
) -> EndpointRead:  # fmt: skip
    """Change what was given; disabling ends the endpoint's pending deliveries as failed
    (a replay after enabling it again sends them)."""
    given = body.model_fields_set
    for name in ("url", "events", "status"):
        if name in given and getattr(body, name) is None:
            raise Invalid.at(["body", name], f"{name} may not be null")
    current = await _endpoint(session, tenant_id, endpoint_id, for_update=True)
    changes: dict[str, Any] = {"updated_at": now}
    if body.url is not None:
        changes["url"] = _checked_url(body.url, allow_private)
    if body.events is not None:
        changes["events"] = _events(body.events)
    if "description" in given:
        changes["description"] = body.description
    if body.status is not None:
        changes["status"] = body.status
    row = await repository.update_endpoint(session, tenant_id, endpoint_id, changes)
    if current["status"] == "enabled" and row["status"] == "disabled":
        await repository.fail_pending(session, tenant_id, endpoint_id, DISABLED_BY_ADMIN, now)
    await session.commit()
    return EndpointRead.model_validate(row)


async def delete_endpoint(
    session: AsyncSession, tenant_id: uuid.UUID, endpoint_id: uuid.UUID
) -> None:
    """Delete an endpoint and its deliveries (events other endpoints take stay)."""
    if not await repository.delete_endpoint(session, tenant_id, endpoint_id):
        raise NotFound("No such event endpoint.")
    await session.commit()


async def list_deliveries(
    session: AsyncSession, tenant_id: uuid.UUID, endpoint_id: uuid.UUID,
    status: DeliveryStatus | None, before: str | None, limit: int,
) -> list[DeliveryRead]:  # fmt: skip
    await _endpoint(session, tenant_id, endpoint_id)
    rows = await repository.list_deliveries(
        session, tenant_id, endpoint_id,
        status=status.value if status else None, before=before, limit=limit,
    )  # fmt: skip
    return [DeliveryRead.model_validate(row) for row in rows]


async def replay(
    session: AsyncSession, tenant_id: uuid.UUID, endpoint_id: uuid.UUID, since: datetime,
    now: datetime,
) -> int:  # fmt: skip
    """Send the failed deliveries of events since ``since`` again; how many."""
    endpoint = await _endpoint(session, tenant_id, endpoint_id, for_update=True)
    if endpoint["status"] != "enabled":
        raise Conflict("The endpoint is disabled; enable it before replaying its events.")
    count = await repository.replay_failed(session, tenant_id, endpoint_id, since, now)
    await session.commit()
    return count
