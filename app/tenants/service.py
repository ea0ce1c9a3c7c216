"""API keys: issuing, resolving a bearer token to a principal, revoking."""

import hashlib
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import NotFound
from app.tenants import repository
from app.tenants.models import ApiKey
from app.tenants.schemas import ApiKeyCreate, ApiKeyCreated, Role

KEY_PREFIX = "tb_"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a tenant's API key and its role."""

    tenant_id: uuid.UUID
    key_id: uuid.UUID
    role: Role
    partner_id: str | None

    @classmethod
    def admin_of(cls, tenant_id: uuid.UUID) -> "Principal":
        """The tenant's admin view with no key: what the service shows in what it sends
        (outbound events) rather than answers."""
        return cls(tenant_id, uuid.UUID(int=0), Role.admin, None)


def hash_key(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def new_key(tenant_id: uuid.UUID) -> str:
    # The tenant travels in the key so a lookup is scoped by tenant like every other query.
    return f"{KEY_PREFIX}{tenant_id.hex}_{secrets.token_urlsafe(32)}"


def tenant_of_key(key: str) -> uuid.UUID | None:
    if not key.startswith(KEY_PREFIX):
        return None
    tenant_hex, _, secret = key[len(KEY_PREFIX) :].partition("_")
    try:
        return uuid.UUID(hex=tenant_hex) if secret else None
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a bearer key says before the database is asked: its tenant and its hash."""

    tenant_id: uuid.UUID
    key_hash: bytes


def credentials_of(key: str) -> Credentials | None:
    tenant_id = tenant_of_key(key)
    return Credentials(tenant_id, hash_key(key)) if tenant_id is not None else None


def principal_of(credentials: Credentials, key: Mapping[Any, Any] | None) -> Principal | None:
    """The principal of a live key row (id, role, partner_id); None for no row."""
    if key is None:
        return None
    return Principal(credentials.tenant_id, key["id"], Role(key["role"]), key["partner_id"])


async def authenticate(session: AsyncSession, key: str) -> Principal | None:
    credentials = credentials_of(key)
    if credentials is None:
        return None
    row = await repository.find_active_key(session, credentials.tenant_id, credentials.key_hash)
    return principal_of(credentials, row)


async def issue_key(
    session: AsyncSession, tenant_id: uuid.UUID, request: ApiKeyCreate, now: datetime
) -> ApiKeyCreated:
    key = new_key(tenant_id)
    row = ApiKey(
        tenant_id=tenant_id,
        id=uuid.uuid4(),
        key_hash=hash_key(key),
        role=request.role.value,
        partner_id=request.partner_id,
        name=request.name,
        created_at=now,
    )
    await repository.add_key(session, row)
    await session.commit()
    return ApiKeyCreated(
        id=row.id,
        key=key,
        role=request.role,
        partner_id=row.partner_id,
        name=row.name,
        created_at=now,
    )


async def create_key_for_tenant_name(
    session: AsyncSession, tenant_name: str, request: ApiKeyCreate, now: datetime
) -> ApiKeyCreated:
    tenant_id = await repository.ensure_tenant(session, tenant_name, now)
    return await issue_key(session, tenant_id, request, now)


async def list_keys(
    session: AsyncSession, tenant_id: uuid.UUID, *, after: uuid.UUID | None, limit: int
) -> list[ApiKey]:
    return await repository.list_keys(session, tenant_id, after=after, limit=limit)


async def revoke_key(
    session: AsyncSession, tenant_id: uuid.UUID, key_id: uuid.UUID, now: datetime
) -> None:
    if not await repository.revoke_key(session, tenant_id, key_id, now):
        raise NotFound("No such API key.")
    await session.commit()
