"""Forgetting a customer (GDPR article 17, PIPL article 47): one transaction deletes the
profile and everything about it, keeps the digests of its touches' keys (a redelivery is a
duplicate, not a new profile) and the audit log's decisions under a pseudonym."""

import hashlib
import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import repository as audit_repo
from app.audit import service as audit
from app.audit.schemas import Action
from app.conflicts import repository as plans
from app.customers import repository
from app.customers.service import CustomerNotFound
from app.db import driver_fetch
from app.events import repository as events
from app.facts import repository as facts
from app.frequency import repository as frequency
from app.locks import repository as locks
from app.rfm import repository as rfm
from app.tenants.service import Principal
from app.touches import repository as touches

PSEUDONYM_PREFIX = "erased:"


def pseudonym(tenant_id: uuid.UUID, customer_id: str) -> str:
    """``erased:`` and the SHA-256 hex of ``<tenant id>/<customer id>``: the same customer
    always gets the same pseudonym, from which the id cannot be read back."""
    return PSEUDONYM_PREFIX + hashlib.sha256(f"{tenant_id}/{customer_id}".encode()).hexdigest()


async def erase(
    session: AsyncSession, principal: Principal, customer_id: str, now: datetime
) -> None:
    """Erase the customer, or 404. Its pending facts row, then its schedule row are locked
    before the profile, in the order the refresher and lists take them (no deadlock with a
    refresh under way)."""
    tenant_id = principal.tenant_id
    fetch = await driver_fetch(session)
    await facts.erase_pending(fetch, tenant_id, customer_id)
    await frequency.hold_statuses(fetch, tenant_id, [customer_id])
    if not await repository.hold_for_erasure(fetch, tenant_id, customer_id):
        raise CustomerNotFound(customer_id)
    erased = await touches.erase_customer(fetch, tenant_id, customer_id, now)
    for owner in (frequency, facts, rfm, plans, locks, events):
        await owner.erase_customer(fetch, tenant_id, customer_id)
    await repository.erase(fetch, tenant_id, customer_id)
    hidden = pseudonym(tenant_id, customer_id)
    await audit_repo.pseudonymise_customer(fetch, tenant_id, customer_id, hidden)
    await audit.record(
        session, principal, Action.customer_erase, "erased", at=now, customer_id=hidden,
        details={"touches": erased},
    )  # fmt: skip
    await session.commit()
