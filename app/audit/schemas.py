from enum import StrEnum
from typing import Any
from uuid import UUID

from app.schemas import Instant, Output
from app.touches.schemas import ActorRead


class Action(StrEnum):
    lock_claim = "lock.claim"
    lock_renew = "lock.renew"
    lock_release = "lock.release"
    plan_file = "plan.file"
    plan_approve = "plan.approve"
    plan_reject = "plan.reject"
    check_reserve = "check.reserve"
    customer_erase = "customer.erase"


AUDIT_EXAMPLE: dict[str, Any] = {
    "id": "7a4c1f0e-3b2d-4e5f-8a9b-0c1d2e3f4a5b",
    "at": "2026-11-20T03:00:00Z",
    "action": "lock.claim",
    "outcome": "refused",
    "customer_id": "c-1001",
    "api_key_id": "5d1f0f3e-2f7b-4c55-8f0e-1d2c3b4a5f60",
    "actor": {"rep_id": None, "team": None, "partner_id": "dist-42"},
    "lock_id": "1e2d3c4b-5a69-4788-9a0b-1c2d3e4f5a6b",
    "plan_id": None,
    "details": {"held_by": {"partner_id": "dist-7", "team": None, "rep_id": None}},
}


class AuditRead(Output):
    """One audited decision: who (key and actor), what, when, the outcome."""

    id: UUID
    at: Instant
    action: Action
    outcome: str
    customer_id: str | None
    api_key_id: UUID
    actor: ActorRead
    lock_id: UUID | None
    plan_id: UUID | None
    details: dict[str, Any]

    model_config = {"json_schema_extra": {"examples": [AUDIT_EXAMPLE]}}
