import uuid

from fastapi import APIRouter, Response

from app.auth import Admin
from app.db import SessionDep, read_only
from app.deps import NowDep
from app.errors import responses
from app.pagination import PageDep, encode_cursor
from app.schemas import Page
from app.tenants import service
from app.tenants.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyRead

router = APIRouter(prefix="/v1/api-keys", tags=["api-keys"])


@router.post(
    "", status_code=201, summary="Create an API key", responses=responses(401, 403, 409, 422)
)
async def create_api_key(
    request: ApiKeyCreate, session: SessionDep, principal: Admin, now: NowDep
) -> ApiKeyCreated:
    """Create a key for the caller's tenant; the secret is in this response only."""
    return await service.issue_key(session, principal.tenant_id, request, now)


@router.get("", summary="List API keys", responses=responses(401, 403, 422))
@read_only
async def list_api_keys(session: SessionDep, principal: Admin, page: PageDep) -> Page[ApiKeyRead]:
    """The tenant's keys, revoked ones included, without their secrets."""
    rows = await service.list_keys(
        session, principal.tenant_id, after=page.after_uuid(), limit=page.limit + 1
    )
    items = [ApiKeyRead.model_validate(row) for row in rows[: page.limit]]
    more = len(rows) > page.limit
    return Page[ApiKeyRead](
        items=items, next_cursor=encode_cursor([str(items[-1].id)]) if more else None
    )


@router.delete(
    "/{key_id}",
    status_code=204,
    summary="Revoke an API key",
    responses=responses(401, 403, 404, 422),
)
async def revoke_api_key(
    key_id: uuid.UUID, session: SessionDep, principal: Admin, now: NowDep
) -> Response:
    """Revoke a key: it fails with 401 from now on."""
    await service.revoke_key(session, principal.tenant_id, key_id, now)
    return Response(status_code=204)
