import uuid
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Query, Response

from app.auth import Reader, WriterInQuery
from app.db import DatabaseDep, SessionDep, read_only
from app.deps import NowDep
from app.errors import Invalid, responses
from app.idempotency.middleware import IDEMPOTENCY_HEADER
from app.pagination import PageDep, instant_and_id, page_of
from app.schemas import ID_PATTERN, Instant, Page, Slug
from app.touches import service
from app.touches.repository import HistoryQuery
from app.touches.schemas import (
    BatchResult,
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
    response_model=TouchStored,
    openapi_extra=IDEMPOTENCY_HEADER,
    responses={
        200: {"model": TouchStored, "description": "Already stored (duplicate)"},
        **responses(401, 403, 409, 413, 422),
    },
)
async def record_touch(
    touch: TouchIn, checked: WriterInQuery, db: DatabaseDep, now: NowDep
) -> Response:
    """Store a touch (201); a repeat of its (source, external_id) returns the stored one (200)."""
    stored, duplicate = await service.record_touch(db, checked, touch, now)
    body = orjson.dumps({**stored, "duplicate": duplicate})
    return Response(body, status_code=200 if duplicate else 201, media_type="application/json")


def batch_document(outcomes: list[ItemOutcome]) -> dict[str, Any]:
    """A batch's answer, ready to serialise (the route builds it once, no second validation)."""
    results = [
        {
            "index": i, "status": o.status.value, "id": str(o.id) if o.id else None,
            "errors": [e.model_dump() for e in o.errors] if o.errors is not None else None,
        }
        for i, o in enumerate(outcomes)
    ]  # fmt: skip

    def count(status: ItemStatus) -> int:
        return sum(1 for o in outcomes if o.status is status)

    return {
        "created": count(ItemStatus.created),
        "duplicates": count(ItemStatus.duplicate),
        "rejected": count(ItemStatus.rejected),
        "results": results,
    }


@router.post(
    "/touches/batch",
    summary="Record up to 1,000 touches",
    response_model=BatchResult,
    openapi_extra=IDEMPOTENCY_HEADER,
    responses=responses(401, 403, 409, 413, 422),
)
async def record_batch(
    batch: TouchBatch, checked: WriterInQuery, db: DatabaseDep, now: NowDep
) -> Response:
    """Store every valid item; each item gets its own result, in input order."""
    outcomes = await service.record_batch_at_once(db, checked, batch.touches, now)
    return Response(orjson.dumps(batch_document(outcomes)), media_type="application/json")


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
