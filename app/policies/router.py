from fastapi import APIRouter

from app.auth import Admin, Reader
from app.db import SessionDep, read_only
from app.deps import NowDep
from app.errors import responses
from app.pagination import PageDep, page_of
from app.policies import service
from app.policies.schemas import PolicyDoc, PolicyRead
from app.schemas import Page

router = APIRouter(prefix="/v1/policy", tags=["policy"])


@router.get("", summary="The active cadence policy", responses=responses(401, 403))
@read_only
async def get_policy(session: SessionDep, principal: Reader) -> PolicyRead:
    """The tenant's active policy; the built-in default (version 0) until one is set."""
    return await service.get_policy(session, principal.tenant_id)


@router.put("", summary="Activate a new cadence policy", responses=responses(401, 403, 413, 422))
async def put_policy(
    policy: PolicyDoc, session: SessionDep, principal: Admin, now: NowDep
) -> PolicyRead:
    """Validate the policy and make it the active version; every customer's verdict is then
    refreshed in the background (reads and lists judge live what is not refreshed yet)."""
    return await service.put_policy(session, principal.tenant_id, policy, now)


@router.get("/versions", summary="Every policy version", responses=responses(401, 403, 422))
@read_only
async def list_policy_versions(
    session: SessionDep, principal: Reader, page: PageDep
) -> Page[PolicyRead]:
    """All versions, newest first; the last is the built-in default (version 0)."""
    items = await service.list_versions(
        session, principal.tenant_id, below=page.after_integer(), limit=page.limit + 1
    )
    items, cursor = page_of(items, page.limit, lambda item: [item.version])
    return Page[PolicyRead](items=items, next_cursor=cursor)
