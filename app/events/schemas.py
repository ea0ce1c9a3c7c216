from enum import StrEnum
from typing import Any, Literal
from uuid import UUID

from pydantic import Field, field_validator

from app.schemas import Input, Instant, Output, Text


class EventType(StrEnum):
    customer_due = "customer.due"
    customer_overdue = "customer.overdue"
    customer_over_contacted = "customer.over_contacted"
    customer_suppressed = "customer.suppressed"
    customer_opted_out = "customer.opted_out"
    plan_pending = "plan.pending"
    plan_decided = "plan.decided"
    lock_claimed = "lock.claimed"
    lock_released = "lock.released"
    lock_expiring = "lock.expiring"
    lock_expired = "lock.expired"


EventSelector = EventType | Literal["*"]
URL_MAX = 2048

EVENTS_FIELD = Field(
    min_length=1,
    max_length=len(EventType) + 1,
    description='The event types sent to the endpoint, or `["*"]` for all of them.',
)


def _distinct(events: list[Any]) -> list[Any]:
    if len(set(events)) != len(events):
        raise ValueError("must not name an event type twice")
    return events


class EndpointCreate(Input):
    url: str = Field(
        max_length=URL_MAX,
        description="Where events are posted: `https` on a public address (unless the service"
        " allows private URLs, for development).",
    )
    events: list[EventSelector] = EVENTS_FIELD
    description: Text | None = Field(default=None, max_length=500)

    @field_validator("events")
    @classmethod
    def _events_distinct(cls, events: list[Any]) -> list[Any]:
        return _distinct(events)

    model_config = {
        "json_schema_extra": {
            "examples": [
                {"url": "https://crm.example.com/touchbase-events",
                 "events": ["customer.overdue", "lock.expiring"], "description": "CRM sync"}
            ]
        }
    }  # fmt: skip


class EndpointUpdate(Input):
    """Only the fields given change; ``description`` may be set to null."""

    url: str | None = Field(default=None, max_length=URL_MAX)
    events: list[EventSelector] | None = Field(
        default=None, min_length=1, max_length=len(EventType) + 1
    )
    description: Text | None = Field(default=None, max_length=500)
    status: Literal["enabled", "disabled"] | None = None

    @field_validator("events")
    @classmethod
    def _events_distinct(cls, events: list[Any] | None) -> list[Any] | None:
        return _distinct(events) if events is not None else events

    model_config = {"json_schema_extra": {"examples": [{"status": "disabled"}]}}


ENDPOINT_EXAMPLE: dict[str, Any] = {
    "id": "6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b",
    "url": "https://crm.example.com/touchbase-events",
    "events": ["customer.overdue", "lock.expiring"],
    "description": "CRM sync",
    "status": "enabled",
    "created_at": "2026-11-20T03:00:00Z",
}


class EndpointRead(Output):
    id: UUID
    url: str
    events: list[str]
    description: str | None
    status: Literal["enabled", "disabled"]
    created_at: Instant

    model_config = {"json_schema_extra": {"examples": [ENDPOINT_EXAMPLE]}}


class EndpointCreated(EndpointRead):
    secret: str = Field(
        description="The `whsec_...` signing secret, shown this once: verify deliveries with it."
    )

    model_config = {
        "json_schema_extra": {
            "examples": [{**ENDPOINT_EXAMPLE, "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}]
        }
    }


class DeliveryStatus(StrEnum):
    pending = "pending"
    succeeded = "succeeded"
    failed = "failed"


class DeliveryRead(Output):
    event_id: str
    type: EventType
    occurred_at: Instant
    status: DeliveryStatus
    attempts: int = Field(description="Attempts made so far.")
    last_status: int | None = Field(
        description="The HTTP status of the last attempt; null before one, or when it got none."
    )
    last_error: str | None = Field(description="Why the last attempt failed, if it did.")
    next_attempt_at: Instant | None = Field(description="When a pending delivery is tried next.")

    model_config = {
        "json_schema_extra": {
            "examples": [
                {"event_id": "evt_05e5c3a1b2c3d4e5f60718293a4b5c6d", "type": "customer.overdue",
                 "occurred_at": "2026-11-20T03:00:00Z", "status": "pending", "attempts": 1,
                 "last_status": 503, "last_error": "answered 503",
                 "next_attempt_at": "2026-11-20T03:00:05Z"}
            ]
        }
    }  # fmt: skip


class Replay(Input):
    since: Instant = Field(description="Events that occurred at or after this instant.")

    model_config = {"json_schema_extra": {"examples": [{"since": "2026-11-19T00:00:00Z"}]}}


class Replayed(Output):
    replayed: int = Field(description="Failed deliveries sent again.")

    model_config = {"json_schema_extra": {"examples": [{"replayed": 3}]}}
