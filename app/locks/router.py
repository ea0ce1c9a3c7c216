import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from app.auth import AdminOrPartner, AnyRole
from app.db import SessionDep, read_only
from app.deps import NowDep
from app.errors import problem_doc, responses
from app.idempotency.middleware import IDEMPOTENCY_HEADER
from app.locks import service
from app.locks.schemas import (
    CustomerLocks,
    LockClaim,
    LockConflictProblem,
    LockRead,
    LockRenew,
    LockStatus,
)
from app.pagination import PageDep, instant_and_id, page_of
from app.schemas import ID_PATTERN, ExternalId, Page

router = APIRouter(prefix="/v1", tags=["locks"])

CONFLICT_409 = problem_doc(409, LockConflictProblem, "Another holder's lock is active")


@router.post(
    "/locks",
    status_code=201,
    summary="Claim a customer",
    openapi_extra=IDEMPOTENCY_HEADER,
    responses={
        200: {"model": LockRead, "description": "The claimant already holds the active lock"},
        **CONFLICT_409,
        **responses(401, 403, 404, 413, 422),
    },
)
async def claim_lock(
    body: LockClaim, session: SessionDep, principal: AdminOrPartner, now: NowDep, response: Response
) -> LockRead:
    """Lock a customer for a partner, team or rep for `days` (a partner key claims for its own
    partner). While another holder's lock is active: 409 with the conflict."""
    lock, created = await service.claim(session, principal, body, now)
    response.status_code = 201 if created else 200
    return lock


@router.get(
    "/customers/{customer_id}/locks",
    summary="A customer's locks",
    responses=responses(401, 403, 404, 422),
)
@read_only
async def get_customer_locks(
    customer_id: Annotated[str, Path(pattern=ID_PATTERN)],
    session: SessionDep,
    principal: AnyRole,
    now: NowDep,
) -> CustomerLocks:
    """Whether the customer is locked now, and its locks, newest first (partners see others'
    active locks without their holder, and none of their history)."""
    locked, locks = await service.customer_locks(session, principal, customer_id, now)
    return CustomerLocks(locked=locked, locks=locks)


@router.get("/locks/{lock_id}", summary="Read one lock", responses=responses(401, 403, 404, 422))
@read_only
async def get_lock(
    lock_id: uuid.UUID, session: SessionDep, principal: AnyRole, now: NowDep
) -> LockRead:
    """One lock by its id (a partner reads its own, and others' active ones without holder)."""
    return await service.get_lock(session, principal, lock_id, now)


@router.post(
    "/locks/{lock_id}/renew",
    summary="Renew a lock",
    openapi_extra=IDEMPOTENCY_HEADER,
    responses=responses(401, 403, 404, 409, 413, 422),
)
async def renew_lock(
    lock_id: uuid.UUID, body: LockRenew, session: SessionDep, principal: AdminOrPartner,
    now: NowDep,
) -> LockRead:  # fmt: skip
    """Let an active lock expire `days` from now, never beyond 365 days after it started (422);
    a lock no longer active: 409."""
    return await service.renew(session, principal, lock_id, body.days, now)


@router.delete(
    "/locks/{lock_id}", status_code=204, summary="Release a lock",
    responses=responses(401, 403, 404, 422),
)  # fmt: skip
async def release_lock(
    lock_id: uuid.UUID, session: SessionDep, principal: AdminOrPartner, now: NowDep
) -> Response:
    """End a lock now (its holder or an admin); another partner's lock: 404."""
    await service.release(session, principal, lock_id, now)
    return Response(status_code=204)


@router.get("/locks", summary="List locks", responses=responses(401, 403, 422))
@read_only
async def list_locks(
    session: SessionDep,
    principal: AnyRole,
    now: NowDep,
    page: PageDep,
    partner_id: Annotated[ExternalId | None, Query()] = None,
    status: Annotated[LockStatus | None, Query()] = None,
) -> Page[LockRead]:
    """Locks newest first, by holding partner and status (a partner key lists its own)."""
    items = await service.list_locks(
        session, principal, partner_id=partner_id, status=status, now=now,
        before=page.after_instant_and_id(), limit=page.limit + 1,
    )  # fmt: skip
    items, cursor = page_of(items, page.limit, lambda item: instant_and_id(item.starts_at, item.id))
    return Page[LockRead](items=items, next_cursor=cursor)
