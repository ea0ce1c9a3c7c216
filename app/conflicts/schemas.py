from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import Field, StrictBool

from app.cadence import Decision
from app.frequency.schemas import ReasonRead
from app.schemas import ExternalId, Input, Instant, JudgedInstant, Output, Slug, Text
from app.touches.schemas import Actor, ActorRead


class CheckIn(Input):
    customer_id: ExternalId
    channel: Slug
    actor: Actor = Field(
        default_factory=Actor, description="A partner key always acts as its own partner."
    )
    at: JudgedInstant | None = Field(
        default=None, description="Any instant, past or future; default now."
    )
    reserve: StrictBool = Field(
        default=False,
        description="On allow or warn, reserve the contact: it counts against caps until it"
        " expires or a touch of the same customer, channel and actor consumes it.",
    )
    reserve_minutes: int = Field(default=60, ge=1, le=1440)

    model_config = {
        "json_schema_extra": {
            "examples": [
                {"customer_id": "c-1001", "channel": "phone",
                 "actor": {"rep_id": "rep-9", "team": "south-sales"},
                 "at": "2026-11-20T03:00:00Z", "reserve": True, "reserve_minutes": 60}
            ]
        }
    }  # fmt: skip


class PlanCreate(Input):
    customer_id: ExternalId
    actor: Actor = Field(description="A partner key always acts as its own partner.")
    channel: Slug
    planned_at: JudgedInstant
    note: Text | None = Field(default=None, max_length=2000)

    model_config = {
        "json_schema_extra": {
            "examples": [
                {"customer_id": "c-1001", "actor": {"rep_id": "rep-9", "team": "south-sales"},
                 "channel": "visit", "planned_at": "2026-11-24T02:00:00Z",
                 "note": "Quarterly care visit"}
            ]
        }
    }  # fmt: skip


class PlanKind(StrEnum):
    filed = "filed"
    reservation = "reservation"


class PlanStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"
    expired = "expired"
    done = "done"


PLAN_EXAMPLE: dict[str, Any] = {
    "id": "4f0c9a52-1b7e-4d2a-9c3f-5e6d7a8b9c0d",
    "customer_id": "c-1001",
    "kind": "filed",
    "channel": "visit",
    "actor": {"rep_id": "rep-9", "team": "south-sales", "partner_id": None},
    "planned_at": "2026-11-24T02:00:00Z",
    "expires_at": "2026-11-25T02:00:00Z",
    "status": "pending",
    "reasons": [
        {"code": "owned_by_other", "message": "The customer is owned by team north-sales, rep"
         " rep-7.", "until": None}
    ],
    "note": "Quarterly care visit",
    "created_at": "2026-11-20T03:00:00Z",
    "decided_at": None,
    "touch_id": None,
}  # fmt: skip


class PlanRead(Output):
    id: UUID
    customer_id: str
    kind: PlanKind = Field(description="`filed` (a visit plan) or `reservation` (a check's).")
    channel: str
    actor: ActorRead
    planned_at: JudgedInstant
    expires_at: Instant = Field(description="When an open plan stops being open.")
    status: PlanStatus
    reasons: list[ReasonRead] = Field(description="The conflicts it raised when filed.")
    note: str | None
    created_at: Instant
    decided_at: Instant | None
    touch_id: UUID | None = Field(description="The touch that consumed it (`done`).")

    model_config = {"json_schema_extra": {"examples": [PLAN_EXAMPLE]}}


class CheckRead(Output):
    decision: Decision
    reasons: list[ReasonRead]
    plan: PlanRead | None = Field(description="The reservation made, if `reserve` was asked.")

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "decision": "warn",
                    "reasons": PLAN_EXAMPLE["reasons"],
                    "plan": {
                        **PLAN_EXAMPLE, "kind": "reservation", "channel": "phone",
                        "planned_at": "2026-11-20T03:00:00Z", "expires_at": "2026-11-20T04:00:00Z",
                        "status": "approved", "note": None,
                    },
                }
            ]
        }
    }  # fmt: skip
