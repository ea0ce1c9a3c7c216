from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import Field

from app.errors import Problem
from app.schemas import ExternalId, Input, Instant, Output, Slug, Text


class HolderIn(Input):
    """Who holds a lock: exactly one of a partner, a team or a rep."""

    partner_id: ExternalId | None = None
    team: Slug | None = None
    rep_id: ExternalId | None = None


class LockClaim(Input):
    customer_id: ExternalId
    holder: HolderIn | None = Field(
        default=None,
        description="Exactly one of the three; a partner key always claims for its own partner.",
    )
    days: int = Field(default=90, ge=1, le=365)
    reason: Text | None = Field(default=None, max_length=500)

    model_config = {
        "json_schema_extra": {
            "examples": [
                {"customer_id": "c-1001", "holder": {"partner_id": "dist-42"}, "days": 90,
                 "reason": "Deal registration DR-2231"}
            ]
        }
    }  # fmt: skip


class LockRenew(Input):
    days: int = Field(ge=1, le=365, description="The lock then expires this many days from now.")

    model_config = {"json_schema_extra": {"examples": [{"days": 30}]}}


class LockStatus(StrEnum):
    active = "active"
    expired = "expired"
    released = "released"


class HolderRead(Output):
    partner_id: str | None
    team: str | None
    rep_id: str | None


LOCK_EXAMPLE: dict[str, Any] = {
    "id": "1e2d3c4b-5a69-4788-9a0b-1c2d3e4f5a6b",
    "customer_id": "c-1001",
    "holder": {"partner_id": "dist-42", "team": None, "rep_id": None},
    "starts_at": "2026-11-20T03:00:00Z",
    "expires_at": "2027-02-18T03:00:00Z",
    "released_at": None,
    "status": "active",
    "reason": "Deal registration DR-2231",
}


class LockRead(Output):
    id: UUID
    customer_id: str
    holder: HolderRead | None = Field(description="null when hidden from a partner key.")
    starts_at: Instant
    expires_at: Instant
    released_at: Instant | None
    status: LockStatus
    reason: str | None

    model_config = {"json_schema_extra": {"examples": [LOCK_EXAMPLE]}}


class CustomerLocks(Output):
    locked: bool = Field(description="Another contact is locked out: a lock is active now.")
    locks: list[LockRead] = Field(description="Newest first, at most 100.")

    model_config = {"json_schema_extra": {"examples": [{"locked": True, "locks": [LOCK_EXAMPLE]}]}}


class LockConflictRead(Output):
    expires_at: Instant
    holder: HolderRead | None = Field(description="null for partner keys.")


class LockConflictProblem(Problem):
    """409: another holder's lock is active."""

    conflict: LockConflictRead
