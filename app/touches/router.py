import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from app.auth import Reader, Writer
from app.db import SessionDep, read_only
from app.deps import NowDep
from app.errors import Invalid, responses
from app.idempotency.middleware import IDEMPOTENCY_HEADER
from app.pagination import PageDep, instant_and_id, page_of
from app.schemas import ID_PATTERN, Instant, Page, Slug
from app.touches import service
from app.touches.repository import HistoryQuery
from app.touches.schemas import (
    BatchResult,
    ItemResult,
    ItemStatus,
    Kind,
    TouchBatch,
    TouchIn,
    TouchRead,
    TouchStored,
)
from app.touches.service import ItemOutcome

router = APIRouter(prefix="/v1", tags=["touches"])


@router.post(
    "/touches",
    summary="Record one touch",
    status_code=201,
    openapi_extra=IDEMPOTENCY_HEADER,
    responses={
        200: {"model": TouchStored, "description": "Already stored (duplicate)"},
        **responses(401, 403, 409, 413, 422),
    },
)
async def record_touch(
    touch: TouchIn, session: SessionDep, principal: Writer, now: NowDep, response: Response
) -> TouchStored:
    """Store a touch (201); a repeat of its (source, external_id) returns the stored one (200)."""
    stored = await service.record_touch(session, principal.tenant_id, touch, now)
    response.status_code = 200 if stored.duplicate else 201
    return stored


def to_batch_result(outcomes: list[ItemOutcome]) -> BatchResult:
    results = [
        ItemResult(index=i, status=o.status, id=o.id, errors=o.errors)
        for i, o in enumerate(outcomes)
    ]

    def count(status: ItemStatus) -> int:
        return sum(1 for o in outcomes if o.status is status)

    return BatchResult(
        created=count(ItemStatus.created),
        duplicates=count(ItemStatus.duplicate),
        rejected=count(ItemStatus.rejected),
        results=results,
    )


@router.post(
    "/touches/batch",
    summary="Record up to 1,000 touches",
    openapi_extra=IDEMPOTENCY_HEADER,
    responses=responses(401, 403, 409, 413, 422),
)
async def record_batch(
    batch: TouchBatch, session: SessionDep, principal: Writer, now: NowDep
) -> BatchResult:
    """Store every valid item; each item gets its own result, in input order."""
    outcomes = await service.record_batch(session, principal.tenant_id, batch.touches, now)
    return to_batch_result(outcomes)


@router.get(
    "/touches/{touch_id}", summary="Read one touch", responses=responses(401, 403, 404, 422)
)
@read_only
async def get_touch(touch_id: str, session: SessionDep, principal: Reader) -> TouchRead:
    """One stored touch by its id."""
    try:
        parsed = uuid.UUID(touch_id)
    except ValueError:
        raise Invalid.at(["path", "touch_id"], "not a touch id") from None
    return await service.get_touch(session, principal.tenant_id, parsed)


@router.get(
    "/customers/{customer_id}/touches",
    summary="A customer's touches",
    responses=responses(401, 403, 404, 422),
)
@read_only
async def list_customer_touches(
    customer_id: Annotated[str, Path(pattern=ID_PATTERN)],
    session: SessionDep,
    principal: Reader,
    page: PageDep,
    from_: Annotated[Instant | None, Query(alias="from")] = None,
    to: Annotated[Instant | None, Query()] = None,
    channel: Annotated[Slug | None, Query()] = None,
    kind: Annotated[Kind | None, Query()] = None,
) -> Page[TouchRead]:
    """Touches newest first, filtered by time range, channel and kind."""
    query = HistoryQuery(customer_id, from_, to, channel, kind.value if kind else None)
    before = page.after_instant_and_id()
    items = await service.list_history(
        session, principal.tenant_id, query, before=before, limit=page.limit + 1
    )
    items, cursor = page_of(
        items, page.limit, lambda item: instant_and_id(item.occurred_at, item.id)
    )
    return Page[TouchRead](items=items, next_cursor=cursor)
