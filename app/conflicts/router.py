import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.auth import Admin, AnyRole, AnyRoleInQuery
from app.conflicts import service
from app.conflicts.schemas import CheckIn, CheckRead, PlanCreate, PlanRead, PlanStatus
from app.db import DatabaseDep, SessionDep, read_only
from app.deps import NowDep
from app.errors import responses
from app.idempotency.middleware import IDEMPOTENCY_HEADER
from app.pagination import PageDep, instant_and_id, page_of
from app.schemas import ExternalId, Page

router = APIRouter(prefix="/v1", tags=["coordination"])


@router.post(
    "/conflict-checks",
    summary="Check a contact before making it",
    response_model=CheckRead,
    openapi_extra=IDEMPOTENCY_HEADER,
    responses=responses(401, 403, 404, 409, 413, 422),
)
async def check_contact(
    body: CheckIn, checked: AnyRoleInQuery, db: DatabaseDep, now: NowDep
) -> Response:
    """Allow, warn or deny a contact at `at` (default now), with every reason; with `reserve`,
    an allowed or warned contact is reserved and counts against caps until it expires or is
    made. A partner key learns the decision and reason codes only."""
    answer = await service.check(db, checked, body, now)
    return Response(answer, media_type="application/json")


@router.post(
    "/contact-plans",
    status_code=201,
    summary="File a contact plan",
    openapi_extra=IDEMPOTENCY_HEADER,
    responses=responses(401, 403, 404, 409, 413, 422),
)
async def file_plan(
    body: PlanCreate, session: SessionDep, principal: AnyRole, now: NowDep
) -> PlanRead:
    """A visit plan filed in advance: `approved` at once when it raises no conflict at
    `planned_at`, else `pending` with its reasons, for an admin to decide."""
    return await service.file_plan(session, principal, body, now)


@router.post(
    "/contact-plans/{plan_id}/approve",
    summary="Approve a pending plan",
    openapi_extra=IDEMPOTENCY_HEADER,
    responses=responses(401, 403, 404, 409, 422),
)
async def approve_plan(
    plan_id: uuid.UUID, session: SessionDep, principal: Admin, now: NowDep
) -> PlanRead:
    """Approve a pending plan; one already decided (or expired): 409."""
    return await service.decide_plan(session, principal, plan_id, "approved", now)


@router.post(
    "/contact-plans/{plan_id}/reject",
    summary="Reject a pending plan",
    openapi_extra=IDEMPOTENCY_HEADER,
    responses=responses(401, 403, 404, 409, 422),
)
async def reject_plan(
    plan_id: uuid.UUID, session: SessionDep, principal: Admin, now: NowDep
) -> PlanRead:
    """Reject a pending plan; one already decided (or expired): 409."""
    return await service.decide_plan(session, principal, plan_id, "rejected", now)


@router.get(
    "/contact-plans/{plan_id}", summary="Read one plan", responses=responses(401, 403, 404, 422)
)
@read_only
async def get_plan(
    plan_id: uuid.UUID, session: SessionDep, principal: AnyRole, now: NowDep
) -> PlanRead:
    """One plan by its id (a partner key reads its own partner's only)."""
    return await service.get_plan(session, principal, plan_id, now)


@router.get("/contact-plans", summary="List contact plans", responses=responses(401, 403, 422))
@read_only
async def list_plans(
    session: SessionDep,
    principal: AnyRole,
    now: NowDep,
    page: PageDep,
    customer_id: Annotated[ExternalId | None, Query()] = None,
    status: Annotated[PlanStatus | None, Query()] = None,
) -> Page[PlanRead]:
    """Filed plans and reservations, newest first (a partner key lists its own only)."""
    items = await service.list_plans(
        session, principal, customer_id=customer_id, status=status, now=now,
        before=page.after_instant_and_id(), limit=page.limit + 1,
    )  # fmt: skip
    items, cursor = page_of(
        items, page.limit, lambda item: instant_and_id(item.created_at, item.id)
    )
    return Page[PlanRead](items=items, next_cursor=cursor)
