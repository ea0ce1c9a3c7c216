import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.auth import Admin
from app.db import SessionDep, read_only
from app.deps import NowDep, SettingsDep
from app.errors import responses
from app.events import service
from app.events.schemas import (
    DeliveryRead,
    DeliveryStatus,
    EndpointCreate,
    EndpointCreated,
    EndpointRead,
    EndpointUpdate,
    Replay,
    Replayed,
)
from app.pagination import PageDep, page_of
from app.schemas import Page

router = APIRouter(prefix="/v1/event-endpoints", tags=["events"])


@router.post(
    "", status_code=201, summary="Create an event endpoint", responses=responses(401, 403, 413, 422)
)
async def create_event_endpoint(
    body: EndpointCreate, session: SessionDep, principal: Admin, settings: SettingsDep,
    now: NowDep,
) -> EndpointCreated:  # fmt: skip
    """Subscribe a URL to event types; the signing secret is in this response only."""
    return await service.create_endpoint(
        session, principal.tenant_id, body, settings.events_allow_private_urls, now
    )


@router.get("", summary="List event endpoints", responses=responses(401, 403, 422))
@read_only
async def list_event_endpoints(
    session: SessionDep, principal: Admin, page: PageDep
) -> Page[EndpointRead]:
    """The tenant's endpoints, without their secrets."""
    items = await service.list_endpoints(
        session, principal.tenant_id, page.after_uuid(), page.limit + 1
    )
    shown, cursor = page_of(items, page.limit, lambda e: [str(e.id)])
    return Page[EndpointRead](items=shown, next_cursor=cursor)


@router.get(
    "/{endpoint_id}", summary="Read an event endpoint", responses=responses(401, 403, 404, 422)
)
@read_only
async def get_event_endpoint(
    endpoint_id: uuid.UUID, session: SessionDep, principal: Admin
) -> EndpointRead:
    """One endpoint, without its secret."""
    return await service.get_endpoint(session, principal.tenant_id, endpoint_id)


@router.patch(
    "/{endpoint_id}",
    summary="Change an event endpoint",
    responses=responses(401, 403, 404, 413, 422),
)
async def update_event_endpoint(
    endpoint_id: uuid.UUID, body: EndpointUpdate, session: SessionDep, principal: Admin,
    settings: SettingsDep, now: NowDep,
) -> EndpointRead:  # fmt: skip
    """Change the URL, the event types, the description or the status; disabling fails the
    endpoint's pending deliveries (replay them after enabling it again)."""
    return await service.update_endpoint(
        session, principal.tenant_id, endpoint_id, body, settings.events_allow_private_urls, now
    )


@router.delete(
    "/{endpoint_id}",
    status_code=204,
    summary="Delete an event endpoint",
    responses=responses(401, 403, 404, 422),
)
async def delete_event_endpoint(
    endpoint_id: uuid.UUID, session: SessionDep, principal: Admin
) -> Response:
    """Stop sending events there; its deliveries are deleted with it."""
    await service.delete_endpoint(session, principal.tenant_id, endpoint_id)
    return Response(status_code=204)


@router.get(
    "/{endpoint_id}/deliveries",
    summary="An endpoint's deliveries",
    responses=responses(401, 403, 404, 422),
)
@read_only
async def list_event_deliveries(
    endpoint_id: uuid.UUID,
    session: SessionDep,
    principal: Admin,
    page: PageDep,
    status: Annotated[DeliveryStatus | None, Query(description="Only these.")] = None,
) -> Page[DeliveryRead]:
    """Each event sent or to be sent to the endpoint, newest first."""
    items = await service.list_deliveries(
        session, principal.tenant_id, endpoint_id, status, page.after_text(), page.limit + 1
    )
    shown, cursor = page_of(items, page.limit, lambda d: [d.event_id])
    return Page[DeliveryRead](items=shown, next_cursor=cursor)


@router.post(
    "/{endpoint_id}/replay",
    status_code=202,
    summary="Send failed events again",
    responses=responses(401, 403, 404, 409, 413, 422),
)
async def replay_event_deliveries(
    endpoint_id: uuid.UUID, body: Replay, session: SessionDep, principal: Admin, now: NowDep
) -> Replayed:
    """Every event since `since` whose delivery to this endpoint ended `failed` is sent again,
    with a fresh retry schedule; 409 while the endpoint is disabled."""
    count = await service.replay(session, principal.tenant_id, endpoint_id, body.since, now)
    return Replayed(replayed=count)
