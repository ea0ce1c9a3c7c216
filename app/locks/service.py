"""Contact locks for distributor portals: claim, renew, release, read.

At most one lock per customer is active at a time (the database's exclusion constraint);
claims are also serialised on the customer's row, so the loser of a race reads the winner.
A lock expires by itself: its status is read off the clock, no job ends it.
"""

import uuid
from datetime import datetime, timedelta

from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from app import cadence
from app.actors import actor_columns, actor_dict, actor_from
from app.audit import service as audit
from app.audit.schemas import Action
from app.customers import repository as customers_repo
from app.customers.service import CustomerNotFound
from app.errors import Conflict, Invalid, NotFound
from app.events import outbox
from app.events.schemas import EventType
from app.locks import repository
from app.locks.schemas import LockClaim, LockConflictRead, LockRead, LockStatus
from app.refresh import service as refresh
from app.tenants.schemas import Role
from app.tenants.service import Principal

# A lock, renewed or not, ends at most this long after it started.
MAX_LOCK_SPAN = timedelta(days=365)
CUSTOMER_LOCKS_SHOWN = 100


def holder_of(row: RowMapping) -> cadence.Actor:
    return actor_from(row, prefix="holder_")


def status_of(row: RowMapping, now: datetime) -> LockStatus:
    if row["released_at"] is not None:
        return LockStatus.released
    return LockStatus.active if row["expires_at"] > now else LockStatus.expired


def is_own(principal: Principal, row: RowMapping) -> bool:
    """Partners own the locks their partner holds; every other role sees all locks."""
    return principal.role is not Role.partner or row["holder_partner_id"] == principal.partner_id


def to_read(principal: Principal, row: RowMapping, now: datetime) -> LockRead:
    own = is_own(principal, row)
    holder = holder_of(row)
    return LockRead.model_validate(
        {
            **row,
            "holder": actor_dict(holder) if own else None,
            "reason": row["reason"] if own else None,
            "status": status_of(row, now),
        }
    )


def lock_event(
    row: RowMapping, event_type: EventType, at: datetime, now: datetime
) -> outbox.NewEvent:
    """An outbound event about the lock, as an admin reads it at ``now``."""
    data = to_read(Principal.admin_of(row["tenant_id"]), row, now).model_dump_json()
    return outbox.NewEvent(row["tenant_id"], event_type, at, data, row["customer_id"])


def claimed_holder(principal: Principal, claim: LockClaim) -> cadence.Actor:
    if principal.role is Role.partner:
        return cadence.Actor(partner_id=principal.partner_id)
    named = claim.holder
    if (
        named is None
        or sum(v is not None for v in (named.partner_id, named.team, named.rep_id)) != 1
    ):
        raise Invalid.at(["body", "holder"], "must name exactly one of partner_id, team, rep_id")
    return cadence.Actor(rep_id=named.rep_id, team=named.team, partner_id=named.partner_id)


async def claim(
    session: AsyncSession, principal: Principal, body: LockClaim, now: datetime
) -> tuple[LockRead, bool]:
    """Claim a free customer (created: True), or get back the lock one already holds."""
    holder = claimed_holder(principal, body)
    tenant_id, customer_id = principal.tenant_id, body.customer_id
    if await customers_repo.lock(session, tenant_id, customer_id) is None:
        raise CustomerNotFound(customer_id)
    row = None
    if not (blocking := await repository.not_ended(session, tenant_id, customer_id, now)):
        row = await repository.insert_unless_overlapping(
            session,
            {
                "tenant_id": tenant_id, "id": uuid.uuid4(), "customer_id": customer_id,
                **actor_columns(holder, prefix="holder_"), "starts_at": now,
                "expires_at": now + timedelta(days=body.days), "reason": body.reason,
                "created_by_key": principal.key_id,
            },
        )  # fmt: skip
    if row is None:  # the constraint refused it: some lock overlaps (the database knows best)
        blocking = blocking or await repository.not_ended(session, tenant_id, customer_id, now)
        return await _already_locked(session, principal, blocking[0], holder, now), False
    await audit.record(
        session, principal, Action.lock_claim, "claimed", at=now, customer_id=customer_id,
        actor=holder, lock_id=row["id"], details={"days": body.days},
    )  # fmt: skip
    await refresh.customers_changed(session, tenant_id, [customer_id])  # contactable_now
    await outbox.record_in(session, [lock_event(row, EventType.lock_claimed, now, now)], now)
    await session.commit()
    return to_read(principal, row, now), True


async def _already_locked(
    session: AsyncSession,
    principal: Principal,
    active: RowMapping,
    holder: cadence.Actor,
    now: datetime,
) -> LockRead:
    """The claimant's own active lock; another holder's is refused (audited, then 409)."""
    mine = holder_of(active) == holder
    await audit.record(
        session, principal, Action.lock_claim, "already_held" if mine else "refused", at=now,
        customer_id=active["customer_id"], actor=holder, lock_id=active["id"],
        details={} if mine else {"held_by": actor_dict(holder_of(active))},
    )  # fmt: skip
    await session.commit()
    if mine:
        return to_read(principal, active, now)
    hidden = principal.role is Role.partner
    conflict = LockConflictRead.model_validate(
        {
            "expires_at": active["expires_at"],
            "holder": None if hidden else actor_dict(holder_of(active)),
        }
    )
    raise Conflict(
        "Another holder's lock on this customer is active.",
        conflict=conflict.model_dump(mode="json"),
    )


async def _lock_to_change(
    session: AsyncSession, principal: Principal, lock_id: uuid.UUID
) -> RowMapping:
    row = await repository.get(session, principal.tenant_id, lock_id, for_update=True)
    if row is None or not is_own(principal, row):
        raise NotFound("No such lock.")
    return row


async def renew(
    session: AsyncSession, principal: Principal, lock_id: uuid.UUID, days: int, now: datetime
) -> LockRead:
    """Move an active lock's expiry to ``days`` from now, within a year of its start."""
    row = await _lock_to_change(session, principal, lock_id)
    if status_of(row, now) is not LockStatus.active:
        raise Conflict("The lock is no longer active; claim the customer again.")
    expires_at = now + timedelta(days=days)
    limit = row["starts_at"] + MAX_LOCK_SPAN
    if expires_at > limit:
        message = f"a lock may not extend beyond 365 days after it started ({limit.isoformat()})"
        raise Invalid.at(["body", "days"], message)
    row = await repository.set_end(session, principal.tenant_id, lock_id, expires_at=expires_at)
    await audit.record(
        session, principal, Action.lock_renew, "renewed", at=now, customer_id=row["customer_id"],
        lock_id=lock_id, details={"days": days, "expires_at": expires_at.isoformat()},
    )  # fmt: skip
    await refresh.customers_changed(session, principal.tenant_id, [row["customer_id"]])
    await session.commit()
    return to_read(principal, row, now)


async def release(
    session: AsyncSession, principal: Principal, lock_id: uuid.UUID, now: datetime
) -> None:
    """End an active lock now; releasing one that already ended changes nothing."""
    row = await _lock_to_change(session, principal, lock_id)
    active = status_of(row, now) is LockStatus.active
    if active:
        row = await repository.set_end(session, principal.tenant_id, lock_id, released_at=now)
        await refresh.customers_changed(session, principal.tenant_id, [row["customer_id"]])
        event = lock_event(row, EventType.lock_released, now, now)
        await outbox.record_in(session, [event], now)
    await audit.record(
        session, principal, Action.lock_release, "released" if active else "not_active", at=now,
        customer_id=row["customer_id"], lock_id=lock_id,
    )  # fmt: skip
    await session.commit()


async def get_lock(
    session: AsyncSession, principal: Principal, lock_id: uuid.UUID, now: datetime
) -> LockRead:
    row = await repository.get(session, principal.tenant_id, lock_id)
    if row is None or not (is_own(principal, row) or status_of(row, now) is LockStatus.active):
        raise NotFound("No such lock.")
    return to_read(principal, row, now)


async def customer_locks(
    session: AsyncSession, principal: Principal, customer_id: str, now: datetime
) -> tuple[bool, list[LockRead]]:
    """Whether a lock is active now, and the customer's locks (a partner sees its own, and
    only the active one of others, without its holder)."""
    if await customers_repo.get(session, principal.tenant_id, customer_id) is None:
        raise CustomerNotFound(customer_id)
    rows = await repository.for_customer(
        session, principal.tenant_id, customer_id, CUSTOMER_LOCKS_SHOWN
    )
    locked = any(status_of(row, now) is LockStatus.active for row in rows)
    shown = [
        row for row in rows if is_own(principal, row) or status_of(row, now) is LockStatus.active
    ]
    return locked, [to_read(principal, row, now) for row in shown]


async def list_locks(
    session: AsyncSession,
    principal: Principal,
    *,
    partner_id: str | None,
    status: LockStatus | None,
    now: datetime,
    before: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[LockRead]:
    if principal.role is Role.partner:
        partner_id = principal.partner_id
    rows = await repository.list_page(
        session, principal.tenant_id, partner_id=partner_id,
        status=status.value if status else None, now=now, before=before, limit=limit,
    )  # fmt: skip
    return [to_read(principal, row, now) for row in rows]
