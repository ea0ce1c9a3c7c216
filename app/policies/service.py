"""Cadence policies: the active one (the built-in default until a tenant sets its own)."""

import uuid
from datetime import datetime

from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from app import cadence
from app.policies import repository
from app.policies.schemas import PolicyDoc, PolicyRead, from_engine, to_engine
from app.refresh import service as refresh

DEFAULT_DOCUMENT = from_engine(cadence.DEFAULT_POLICY)


def _read(row: RowMapping) -> PolicyRead:
    return PolicyRead.model_validate(
        {**row["document"], "version": row["version"], "created_at": row["created_at"]}
    )


def default_read() -> PolicyRead:
    return PolicyRead.model_validate(
        {**DEFAULT_DOCUMENT.model_dump(), "version": 0, "created_at": None}
    )


# Versions never change once stored, so a parsed one is good for ever (in every process).
_parsed: dict[tuple[uuid.UUID, int], cadence.Policy] = {}
PARSED_KEPT = 1024


def known_policy(tenant_id: uuid.UUID, version: int) -> cadence.Policy | None:
    """A version this process has parsed already (0: the built-in default), if any."""
    return cadence.DEFAULT_POLICY if version == 0 else _parsed.get((tenant_id, version))


async def policy_version(
    session: AsyncSession, tenant_id: uuid.UUID, version: int
) -> cadence.Policy:
    """The engine's view of one version (0: the built-in default), parsed once."""
    if version == 0:
        return cadence.DEFAULT_POLICY
    if (policy := _parsed.get((tenant_id, version))) is None:
        row = await repository.get_version(session, tenant_id, version)
        policy = to_engine(PolicyDoc.model_validate(row["document"]), version)
        if len(_parsed) >= PARSED_KEPT:
            _parsed.clear()
        _parsed[(tenant_id, version)] = policy
    return policy


async def get_policy(session: AsyncSession, tenant_id: uuid.UUID) -> PolicyRead:
    row = await repository.active(session, tenant_id)
    return _read(row) if row is not None else default_read()


async def put_policy(
    session: AsyncSession, tenant_id: uuid.UUID, doc: PolicyDoc, now: datetime
) -> PolicyRead:
    """Activate a new version: every customer's stored verdict is then refreshed."""
    row = await repository.add_next(session, tenant_id, doc.model_dump(mode="json"), now)
    await refresh.tenant_changed(session, tenant_id)
    await session.commit()
    return _read(row)


async def list_versions(
    session: AsyncSession, tenant_id: uuid.UUID, *, below: int | None, limit: int
) -> list[PolicyRead]:
    """Stored versions newest first, ending with the built-in default (version 0)."""
    rows = await repository.list_page(session, tenant_id, below=below, limit=limit)
    items = [_read(row) for row in rows]
    if len(items) < limit and (below is None or below > 0):
        items.append(default_read())
    return items
