from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response

from app.auth import Reader, Writer, WriterInQuery
from app.customers import service
from app.customers.schemas import (
    CustomerBatch,
    CustomerBatchResult,
    CustomerFilters,
    CustomerItemResult,
    CustomerItemStatus,
    CustomerRead,
    CustomerWrite,
)
from app.customers.service import ItemOutcome
from app.db import DatabaseDep, SessionDep, read_only
from app.deps import NowDep
from app.errors import responses
from app.idempotency.middleware import IDEMPOTENCY_HEADER
from app.pagination import PageDep, encode_cursor
from app.schemas import CustomerId, Page

router = APIRouter(prefix="/v1/customers", tags=["customers"])

PATCH_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            media: {
                "schema": {"$ref": "#/components/schemas/CustomerWrite"},
                "example": {"stage": "negotiation", "preferences": {"paused_until": None}},
            }
            for media in ("application/merge-patch+json", "application/json")
        },
    }
}


def to_batch_result(outcomes: list[ItemOutcome]) -> CustomerBatchResult:
    results = [
        CustomerItemResult(index=i, customer_id=o.customer_id, status=o.status, errors=o.errors)
        for i, o in enumerate(outcomes)
    ]

    def count(status: CustomerItemStatus) -> int:
        return sum(1 for o in outcomes if o.status is status)

    return CustomerBatchResult(
        created=count(CustomerItemStatus.created),
        replaced=count(CustomerItemStatus.replaced),
        rejected=count(CustomerItemStatus.rejected),
        results=results,
    )


@router.post(
    "/batch",
    summary="Create or replace up to 1,000 customer profiles",
    openapi_extra=IDEMPOTENCY_HEADER,
    responses={
        200: {"description": "One result per item, in input order"},
        **responses(401, 403, 409, 413, 422),
    },
)
async def put_customer_batch(
    batch: CustomerBatch, session: SessionDep, principal: Writer, now: NowDep
) -> CustomerBatchResult:
    """Create or replace each profile (1..1,000) as `PUT /v1/customers/{customer_id}` would:
    the same fields and validation; `stage_entered_at` is set at creation and moves only when
    the stage value changes. Each item needs its `customer_id`.

    Valid items are stored even when others are rejected; each item gets one result, in
    input order, with `errors` located in the body (`["body", "customers", index, ...]`) and
    the `customer_id` as given (null when missing or not a string). An item naming the
    `customer_id` of an earlier valid item of the batch is rejected; one repeating a rejected
    item is judged on its own. A profile sent again with the very same content counts as
    `replaced` but is not written: its `updated_at` does not move."""
    outcomes = await service.put_batch(session, principal.tenant_id, batch.customers, now)
    return to_batch_result(outcomes)


@router.put(
    "/{customer_id}",
    summary="Create or replace a customer profile",
    responses={201: {"model": CustomerRead, "description": "Created"}, **responses(401, 403, 422)},
)
async def put_customer(
    customer_id: CustomerId,
    profile: CustomerWrite,
    checked: WriterInQuery,
    db: DatabaseDep,
    now: NowDep,
    response: Response,
) -> CustomerRead:
    """Create the profile (201) or replace it whole (200)."""
    customer, created = await service.put_customer(db, checked, customer_id, profile, now)
    response.status_code = 201 if created else 200
    return customer


@router.patch(
    "/{customer_id}",
    summary="Merge-patch a customer profile",
    openapi_extra=PATCH_BODY,
    responses=responses(401, 403, 404, 415, 422),
)
async def patch_customer(
    customer_id: CustomerId,
    session: SessionDep,
    principal: Writer,
    now: NowDep,
    patch: Annotated[Any, Body(media_type="application/merge-patch+json")] = None,
) -> CustomerRead:
    """Merge fields into the profile (RFC 7396: null removes a field)."""
    return await service.patch_customer(session, principal.tenant_id, customer_id, patch, now)


@router.get(
    "/{customer_id}", summary="Read a customer profile", responses=responses(401, 403, 404, 422)
)
@read_only
async def get_customer(
    customer_id: CustomerId, session: SessionDep, principal: Reader
) -> CustomerRead:
    """One customer's profile."""
    return await service.get_customer(session, principal.tenant_id, customer_id)


@router.get("", summary="List customers", responses=responses(401, 403, 422))
@read_only
async def list_customers(
    filters: Annotated[CustomerFilters, Query()],
    page: PageDep,
    session: SessionDep,
    principal: Reader,
) -> Page[CustomerRead]:
    """Customers ordered by id, filtered by segment, stage, owner or team."""
    items = await service.list_customers(
        session, principal.tenant_id, filters, after=page.after_text(), limit=page.limit + 1
    )
    return page_of(items[: page.limit], more=len(items) > page.limit)


def page_of(items: list[CustomerRead], *, more: bool) -> Page[CustomerRead]:
    cursor = encode_cursor([items[-1].customer_id]) if more and items else None
    return Page[CustomerRead](items=items, next_cursor=cursor)
