"""Who may call what: bearer API keys resolved to a principal, and role guards."""

import uuid
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import SessionDep
from app.errors import Forbidden, Unauthorized
from app.idempotency import gate as idempotency
from app.tenants import service as tenants
from app.tenants.schemas import Role
from app.tenants.service import Credentials, Principal


def bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


class RequireRole:
    """A dependency admitting only API keys of the given roles."""

    def __init__(self, *roles: Role) -> None:
        self.roles = frozenset(roles)

    async def __call__(self, request: Request, session: SessionDep) -> Principal:
        return await self.full(request, session)

    async def full(self, request: Request, session: AsyncSession) -> Principal:
        """The key checked, then its Idempotency-Key (after 401 and 403, like the body)."""
        principal = await self.check(request, session)
        await idempotency.judge(request, principal, session)
        return principal

    async def check(self, request: Request, session: AsyncSession) -> Principal:
        token = bearer_token(request)
        principal = await tenants.authenticate(session, token) if token else None
        return self.admit(request, principal)

    def admit(self, request: Request, principal: Principal | None) -> Principal:
        """401 for no live key, 403 for a role this guard does not admit."""
        if principal is None:
            raise Unauthorized(UNAUTHORIZED)
        if principal.role not in self.roles:
            raise Forbidden(f"The {principal.role} role may not do this.")
        request.state.principal = principal
        return principal


UNAUTHORIZED = "A valid API key is required (Authorization: Bearer <key>)."


class KeyChecked:
    """A key whose lookup a hot route folds into its own statement (one round trip): what
    the key says, and the guard that admits the key row the statement returns."""

    def __init__(self, request: Request, guard: RequireRole, credentials: Credentials) -> None:
        self.request, self.guard, self.credentials = request, guard, credentials

    @property
    def tenant_id(self) -> uuid.UUID:
        return self.credentials.tenant_id

    @property
    def key_and_roles(self) -> tuple[bytes, list[str]]:
        """The key's hash and the roles the route admits, for its statement to check."""
        return self.credentials.key_hash, [role.value for role in self.guard.roles]

    def admit(self, key: Mapping[Any, Any] | None) -> Principal:
        return self.guard.admit(self.request, tenants.principal_of(self.credentials, key))


class RequireRoleInQuery(RequireRole):
    """A role guard for a route that looks its key up in its own statement (reads only: a
    revoked key still fails at once, no key is cached)."""

    async def __call__(self, request: Request) -> KeyChecked:  # type: ignore[override]
        token = bearer_token(request)
        credentials = tenants.credentials_of(token) if token else None
        if credentials is None:
            raise Unauthorized(UNAUTHORIZED)
        return KeyChecked(request, self, credentials)


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
ReaderInQuery = Annotated[KeyChecked, Depends(RequireRoleInQuery(*ALL))]
AnyRoleInQuery = Annotated[KeyChecked, Depends(RequireRoleInQuery(*ALL, Role.partner))]
WriterInQuery = Annotated[KeyChecked, Depends(RequireRoleInQuery(Role.admin, Role.ingest))]
AnyRole = Annotated[Principal, Depends(RequireRole(*ALL, Role.partner))]
AdminOrPartner = Annotated[Principal, Depends(RequireRole(Role.admin, Role.partner))]
