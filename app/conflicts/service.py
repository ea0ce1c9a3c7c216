"""Conflict checks, reservations and contact plans, judged by the cadence engine."""

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from app import cadence
from app.actors import actor_columns, actor_dict, actor_from
from app.audit import service as audit
from app.audit.schemas import Action
from app.auth import KeyChecked
from app.conflicts import repository
from app.conflicts.schemas import CheckIn, CheckRead, PlanCreate, PlanRead, PlanStatus
from app.customers import repository as customers_repo
from app.customers.service import CustomerNotFound
from app.db import Database
from app.errors import Conflict, NotFound
from app.events import outbox
from app.events.schemas import EventType
from app.frequency import documents, judging
from app.idempotency import gate as idempotency
from app.policies import service as policies
from app.refresh import service as refresh
from app.schemas import format_utc
from app.tenants.schemas import Role
from app.tenants.service import Principal
from app.touches.schemas import Actor

# A filed plan stays open this long after its planned time (a touch that day consumes it).
FILED_PLAN_GRACE = timedelta(hours=24)

# What a partner key is told: the code's meaning, never who holds, contacted or plans what.
PARTNER_MESSAGES = {
    "opted_out": "The customer does not accept contact on this channel.",
    "paused": "Contact with the customer is paused.",
    "complaint_pause": "Contact on this channel is paused for now.",
    "recent_complaint": "Take care: the customer was unhappy with contact recently.",
    "outside_contact_hours": "It is outside contact hours for the customer.",
    "cap_reached": "The customer has been contacted as often as allowed for now.",
    "min_gap": "The customer was contacted too recently.",
    "quiet_hours": "It is the customer's quiet time.",
    "non_business_day": "It is not a business day for the customer.",
    "locked": "Another holder has locked the customer.",
    "owned_by_other": "The customer has another owner.",
    "recent_contact_by_other": "Someone else contacted the customer recently.",
    "planned_by_other": "Someone else plans to contact the customer around this time.",
}


def acting(principal: Principal, actor: Actor) -> cadence.Actor:
    """The actor a request speaks for. A partner key always acts as its own partner (with its
    own rep, if named); teams are the company's, so a partner names none."""
    if principal.role is Role.partner:
        return cadence.Actor(rep_id=actor.rep_id, partner_id=principal.partner_id)
    return cadence.Actor(rep_id=actor.rep_id, team=actor.team, partner_id=actor.partner_id)


# Reasons whose instant tells a partner nothing of the customer's history.
PARTNER_UNTIL_KEPT = frozenset(
    {"quiet_hours", "non_business_day", "outside_contact_hours", "locked"}
)


def reason_dicts(principal: Principal, reasons: Any) -> list[dict[str, Any]]:
    """Reasons as a caller may see them (partners: generic messages, and an instant only
    where it comes from the calendar or a lock)."""
    if principal.role is Role.partner:
        return [
            {
                "code": r["code"],
                "message": PARTNER_MESSAGES.get(r["code"], ""),
                "until": r["until"] if r["code"] in PARTNER_UNTIL_KEPT else None,
            }
            for r in reasons
        ]
    return list(reasons)


def stored_reasons(verdict: cadence.Verdict) -> list[dict[str, Any]]:
    return [
        {"code": r.code, "message": r.message, "until": format_utc(r.until) if r.until else None}
        for r in verdict.reasons
    ]


def plan_status(row: RowMapping, now: datetime) -> PlanStatus:
    if row["status"] in ("pending", "approved") and row["expires_at"] <= now:
        return PlanStatus.expired
    return PlanStatus(row["status"])


async def record_event(
    session: AsyncSession, plan: RowMapping, event_type: EventType, now: datetime
) -> None:
    """An outbound event with the plan as an admin reads it."""
    tenant_id = plan["tenant_id"]
    data = to_read(Principal.admin_of(tenant_id), plan, now).model_dump_json()
    event = outbox.NewEvent(tenant_id, event_type, now, data, plan["customer_id"])
    await outbox.record_in(session, [event], now)


def to_read(principal: Principal, row: RowMapping, now: datetime) -> PlanRead:
    return PlanRead.model_validate(
        {
            **row,
            "actor": actor_dict(actor_from(row)),
            "status": plan_status(row, now),
            "reasons": reason_dicts(principal, row["reasons"]),
        }
    )


async def surroundings(
    session: AsyncSession, tenant_id: uuid.UUID, customer_id: str, at: datetime, hours: float
) -> cadence.Surroundings:
    window = timedelta(hours=hours)
    plan_rows = await repository.open_near(session, tenant_id, customer_id, at, window)
    contact_rows = await repository.recent_contacts_by_actors(
        session, tenant_id, customer_id, at - window, at
    )
    return cadence.Surroundings(
        plans=[
            cadence.PlannedContact(actor_from(r), r["channel"], r["planned_at"], r["expires_at"])
            for r in plan_rows
        ],
        recent_contacts=[cadence.ContactBy(r["at"], actor_from(r)) for r in contact_rows],
    )


async def judge(
    session: AsyncSession,
    principal: Principal,
    customer_id: str,
    request: cadence.ContactRequest,
    *,
    serialise: bool,
) -> cadence.Verdict:
    """The engine's verdict on a contact; with ``serialise``, holding the customer's row so
    concurrent deciders (reservations, plans) take turns."""
    tenant_id = principal.tenant_id
    row = None
    if serialise and (row := await customers_repo.lock(session, tenant_id, customer_id)) is None:
        raise CustomerNotFound(customer_id)
    policy, profile, activity, status = await judging.judge_customer(
        session, tenant_id, customer_id, request.at, row
    )
    around = await surroundings(
        session, tenant_id, customer_id, request.at, policy.recent_contact_hours
    )
    return cadence.check(policy, profile, activity, status.standing, around, request)


def _plan_row(
    principal: Principal, customer_id: str, request: cadence.ContactRequest, now: datetime
) -> dict[str, Any]:
    return {
        "tenant_id": principal.tenant_id,
        "id": uuid.uuid4(),
        "customer_id": customer_id,
        "channel": request.channel,
        **actor_columns(request.actor),
        "planned_at": request.at,
        "created_at": now,
        "created_by_key": principal.key_id,
    }


async def check(db: Database, checked: KeyChecked, body: CheckIn, now: datetime) -> bytes:
    """A conflict check. At the current instant, with nothing to reserve and no key to keep
    an answer under, it is one statement: the customer's stored document and facts with what
    others do around it; anything else (or a customer a write has marked since) is judged
    live."""
    if body.reserve or body.at is not None or idempotency.carries_key(checked.request):
        async with db.sessions() as session:
            principal = await checked.guard.full(checked.request, session)
            return _encode(await check_contact(session, principal, body, now))
    async with db.driver() as driver:
        context = await repository.check_context(
            driver, checked.tenant_id, checked.credentials.key_hash, body.customer_id, now
        )
    principal = checked.admit(context)
    assert context is not None  # admitted
    if context["customer_id"] is None:
        raise CustomerNotFound(body.customer_id)
    policy = policies.known_policy(principal.tenant_id, context["policy_version"])
    if context["document"] is None or policy is None:
        async with db.read_sessions() as session:
            return _encode(await check_contact(session, principal, body, now))
    request = cadence.ContactRequest(body.channel, acting(principal, body.actor), now)
    verdict = cadence.check(
        policy, judging.to_profile(context), documents.decode_facts(context["facts"]),
        documents.standing(context["document"]), _around(context), request,
    )  # fmt: skip
    reasons = reason_dicts(principal, stored_reasons(verdict))
    return orjson.dumps({"decision": verdict.decision.value, "reasons": reasons, "plan": None})


def _encode(read: CheckRead) -> bytes:
    return read.model_dump_json().encode()


def _around(context: Mapping[str, Any]) -> cadence.Surroundings:
    """The plans and contacts of others near now, as the check statement aggregates them."""
    return cadence.Surroundings(
        plans=[
            cadence.PlannedContact(
                cadence.Actor(rep, team, partner), channel, _at(planned), _at(expires)
            )
            for rep, team, partner, channel, planned, expires in context["plans"] or ()
        ],
        recent_contacts=[
            cadence.ContactBy(_at(at), cadence.Actor(rep, team, partner))
            for rep, team, partner, at in context["contacts"] or ()
        ],
    )


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


async def check_contact(
    session: AsyncSession, principal: Principal, body: CheckIn, now: datetime
) -> CheckRead:
    """Judge a contact live; with ``reserve``, an allowed or warned one is reserved at once
    (serialised on the customer's row)."""
    request = cadence.ContactRequest(body.channel, acting(principal, body.actor), body.at or now)
    verdict = await judge(session, principal, body.customer_id, request, serialise=body.reserve)
    plan = None
    if body.reserve:
        if verdict.decision is not cadence.Decision.deny:
            row = _plan_row(principal, body.customer_id, request, now)
            # open for reserve_minutes from the check, or from ``at`` when that is later
            start = max(request.at, now)
            expires_at = start + timedelta(minutes=body.reserve_minutes)
            plan = await repository.add(
                session,
                {**row, "kind": "reservation", "status": "approved", "expires_at": expires_at,
                 "reasons": stored_reasons(verdict), "decided_at": now},
            )  # fmt: skip
            await refresh.customers_changed(session, principal.tenant_id, [body.customer_id])
        await audit.record(
            session, principal, Action.check_reserve, verdict.decision.value, at=now,
            customer_id=body.customer_id, actor=request.actor,
            plan_id=plan["id"] if plan else None,
            details={"channel": request.channel, "at": request.at.isoformat(),
                     "reasons": [r.code for r in verdict.reasons]},
        )  # fmt: skip
        await session.commit()
    return CheckRead.model_validate(
        {
            "decision": verdict.decision,
            "reasons": reason_dicts(principal, stored_reasons(verdict)),
            "plan": to_read(principal, plan, now) if plan else None,
        }
    )


async def file_plan(
    session: AsyncSession, principal: Principal, body: PlanCreate, now: datetime
) -> PlanRead:
    """File a plan: approved at once when it raises no conflict at its time, else pending."""
    request = cadence.ContactRequest(body.channel, acting(principal, body.actor), body.planned_at)
    verdict = await judge(session, principal, body.customer_id, request, serialise=True)
    status = "approved" if verdict.decision is cadence.Decision.allow else "pending"
    row = _plan_row(principal, body.customer_id, request, now)
    plan = await repository.add(
        session,
        {**row, "kind": "filed", "status": status, "note": body.note,
         "expires_at": body.planned_at + FILED_PLAN_GRACE, "reasons": stored_reasons(verdict),
         "decided_at": now if status == "approved" else None},
    )  # fmt: skip
    await audit.record(
        session, principal, Action.plan_file, status, at=now, customer_id=body.customer_id,
        actor=request.actor, plan_id=plan["id"],
        details={"reasons": [r.code for r in verdict.reasons]},
    )  # fmt: skip
    if status == "pending":
        await record_event(session, plan, EventType.plan_pending, now)
    await session.commit()
    return to_read(principal, plan, now)


async def decide_plan(
    session: AsyncSession, principal: Principal, plan_id: uuid.UUID, status: str, now: datetime
) -> PlanRead:
    """Approve or reject a pending plan (admin); one already decided or expired: 409."""
    row = await repository.decide(
        session, principal.tenant_id, plan_id, status=status, now=now, key_id=principal.key_id
    )
    if row is None:
        existing = await repository.get(session, principal.tenant_id, plan_id)
        if existing is None:
            raise NotFound("No such contact plan.")
        raise Conflict(f"The plan is already {plan_status(existing, now).value}.")
    action = Action.plan_approve if status == "approved" else Action.plan_reject
    await audit.record(
        session, principal, action, status, at=now, customer_id=row["customer_id"],
        plan_id=plan_id,
    )  # fmt: skip
    await record_event(session, row, EventType.plan_decided, now)
    await session.commit()
    return to_read(principal, row, now)


def _visible(principal: Principal, row: RowMapping) -> bool:
    return principal.role is not Role.partner or row["actor_partner_id"] == principal.partner_id


async def get_plan(
    session: AsyncSession, principal: Principal, plan_id: uuid.UUID, now: datetime
) -> PlanRead:
    row = await repository.get(session, principal.tenant_id, plan_id)
    if row is None or not _visible(principal, row):
        raise NotFound("No such contact plan.")
    return to_read(principal, row, now)


async def list_plans(
    session: AsyncSession,
    principal: Principal,
    *,
    customer_id: str | None,
    status: PlanStatus | None,
    now: datetime,
    before: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[PlanRead]:
    """Plans newest first; a partner key sees only its own partner's."""
    partner_id = principal.partner_id if principal.role is Role.partner else None
    rows = await repository.list_page(
        session, principal.tenant_id, customer_id=customer_id,
        status=status.value if status else None, partner_id=partner_id, now=now,
        before=before, limit=limit,
    )  # fmt: skip
    return [to_read(principal, row, now) for row in rows]
