from typing import Annotated

from fastapi import APIRouter, Query

from app.audit import service
from app.audit.schemas import AuditRead
from app.auth import Admin
from app.db import SessionDep, read_only
from app.errors import responses
from app.pagination import PageDep, instant_and_id, page_of
from app.schemas import ExternalId, Instant, Page

router = APIRouter(prefix="/v1", tags=["audit"])


@router.get("/audit", summary="The audit log", responses=responses(401, 403, 422))
@read_only
async def list_audit(
    session: SessionDep,
    principal: Admin,
    page: PageDep,
    customer_id: Annotated[ExternalId | None, Query()] = None,
    from_: Annotated[Instant | None, Query(alias="from")] = None,
    to: Annotated[Instant | None, Query()] = None,
) -> Page[AuditRead]:
    """Lock claims, refusals, renewals and releases, plan decisions and reserving checks,
    newest first, filtered by customer and time (`from` and `to` inclusive)."""
    items = await service.list_events(
        session, principal.tenant_id, customer_id=customer_id, since=from_, until=to,
        before=page.after_instant_and_id(), limit=page.limit + 1,
    )  # fmt: skip
    items, cursor = page_of(items, page.limit, lambda item: instant_and_id(item.at, item.id))
    return Page[AuditRead](items=items, next_cursor=cursor)
