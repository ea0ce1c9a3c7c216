"""Who may call what: bearer API keys resolved to a principal, and role guards."""

from typing import Annotated

from fastapi import Depends, Request
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import SessionDep
from app.errors import Forbidden, Unauthorized
from app.idempotency import gate as idempotency
from app.tenants import service as tenants
from app.tenants.schemas import Role
from app.tenants.service import Principal


def bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


class RequireRole:
    """A dependency admitting only API keys of the given roles."""

    def __init__(self, *roles: Role) -> None:
        self.roles = frozenset(roles)

    async def __call__(self, request: Request, session: SessionDep) -> Principal:
        principal = await self.check(request, session)
        await idempotency.judge(request, principal, session)  # after 401 and 403, like the body
        return principal

    async def check(self, request: Request, session: AsyncSession) -> Principal:
        token = bearer_token(request)
        principal = await tenants.authenticate(session, token) if token else None
        if principal is None:
            raise Unauthorized("A valid API key is required (Authorization: Bearer <key>).")
        if principal.role not in self.roles:
            raise Forbidden(f"The {principal.role} role may not do this.")
        request.state.principal = principal
        return principal


def guard_of(route: object) -> RequireRole | None:
    """The role guard of a route; None for a route anyone may call."""
    if not isinstance(route, APIRoute):
        return None
    for dependant in route.dependant.dependencies:
        if isinstance(dependant.call, RequireRole):
            return dependant.call
    return None


def route_guard(request: Request) -> RequireRole | None:
    return guard_of(request.scope.get("route"))


async def check_before_body(request: Request) -> None:
    """Raise 401/403 for a request whose body failed to parse before its guard ran."""
    guard = route_guard(request)
    if guard is None or hasattr(request.state, "principal"):
        return
    async with request.app.state.sessionmaker() as session:
        await guard.check(request, session)


ALL = (Role.admin, Role.ingest, Role.read)
Admin = Annotated[Principal, Depends(RequireRole(Role.admin))]
Writer = Annotated[Principal, Depends(RequireRole(Role.admin, Role.ingest))]
Reader = Annotated[Principal, Depends(RequireRole(*ALL))]
AnyRole = Annotated[Principal, Depends(RequireRole(*ALL, Role.partner))]
AdminOrPartner = Annotated[Principal, Depends(RequireRole(Role.admin, Role.partner))]
