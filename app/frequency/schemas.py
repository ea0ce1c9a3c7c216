from enum import StrEnum
from typing import Any

from pydantic import Field

from app.customers.schemas import OwnerRead
from app.schemas import ExternalId, Input, Instant, JudgedInstant, Output


class StatusCode(StrEnum):
    suppressed = "suppressed"
    over_contacted = "over_contacted"
    overdue = "overdue"
    due = "due"
    on_track = "on_track"


class ReasonRead(Output):
    code: str = Field(
        description="In a status: `never_contacted`, `due`, `overdue`, `cap_exceeded`,"
        " `cap_reached`, `recent_unsubscribe`, `recent_complaint`, `falling_engagement`,"
        " `paused`, `complaint_pause` (a channel paused after a complaint; it suppresses only"
        " when no channel is left), `opted_out_all`, `target_unmet`. In a conflict check, deny:"
        " `opted_out`, `paused`, `complaint_pause`, `cap_reached`, `min_gap`,"
        " `outside_contact_hours`, `quiet_hours`, `non_business_day`, `locked`; warn:"
        " `recent_complaint`, `owned_by_other`, `recent_contact_by_other`, `planned_by_other`."
    )
    message: str
    until: Instant | None = Field(
        description="When the reason passes with time, if known. Partner keys see it only for"
        " `quiet_hours`, `non_business_day`, `outside_contact_hours` and `locked`."
    )


class WindowCountRead(Output):
    total: int
    by_channel: dict[str, int]


class CapRead(Output):
    window_days: int
    max: int
    used: int
    remaining: int
    frees_at: Instant | None
    channels: list[str] | None


class TargetRead(Output):
    window_days: int
    min: int
    done: int
    met: bool
    depth: str | None


class FatigueRead(Output):
    unsubscribed_channels: list[str]
    complaints_90d: int
    open_rate_recent: float | None
    open_rate_before: float | None


NEXT_FOLLOW_UP_EXAMPLE: dict[str, Any] = {
    "due_at": "2026-11-27T01:00:00Z",
    "earliest_at": "2026-11-22T01:30:00Z",
    "overdue_at": "2026-11-30T01:00:00Z",
    "channel": "phone",
    "reason": "Follow up by phone 7 days after the last contact (2026-11-20) (rule onboarding).",
    "counted_from": "2026-11-20T01:00:00Z",
}


class NextFollowUpRead(Output):
    due_at: Instant
    earliest_at: Instant
    overdue_at: Instant | None
    channel: str | None = Field(
        description="The first preferred channel not opted out nor paused by a complaint, else"
        " the one that last got a response, else the rule's."
    )
    reason: str
    counted_from: Instant | None = Field(
        description="The contact the follow-up clock runs from: the last contact, or under a"
        " rule with `count_automated: false` the last one not automated; null when none."
    )

    model_config = {"json_schema_extra": {"examples": [NEXT_FOLLOW_UP_EXAMPLE]}}


class StatusRead(Output):
    customer_id: str
    as_of: Instant
    policy_version: int
    rule: str
    status: StatusCode
    contactable_now: bool
    reasons: list[ReasonRead]
    last_contact_at: Instant | None
    last_outbound_at: Instant | None
    last_inbound_at: Instant | None
    counts: dict[str, WindowCountRead] = Field(
        description="Contacts of either direction in 7d, 30d, 90d."
    )
    caps: list[CapRead]
    targets: list[TargetRead]
    fatigue: FatigueRead
    next_follow_up: NextFollowUpRead

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "customer_id": "c-1001",
                    "as_of": "2026-11-21T02:00:00Z",
                    "policy_version": 3,
                    "rule": "onboarding",
                    "status": "on_track",
                    "contactable_now": True,
                    "reasons": [],
                    "last_contact_at": "2026-11-20T01:30:00Z",
                    "last_outbound_at": "2026-11-20T01:30:00Z",
                    "last_inbound_at": None,
                    "counts": {
                        "7d": {"total": 2, "by_channel": {"email": 1, "phone": 1}},
                        "30d": {"total": 2, "by_channel": {"email": 1, "phone": 1}},
                        "90d": {"total": 2, "by_channel": {"email": 1, "phone": 1}},
                    },
                    "caps": [
                        {
                            "window_days": 7,
                            "max": 2,
                            "used": 1,
                            "remaining": 1,
                            "frees_at": None,
                            "channels": None,
                        }
                    ],
                    "targets": [
                        {"window_days": 30, "min": 4, "done": 2, "met": False, "depth": None}
                    ],
                    "fatigue": {
                        "unsubscribed_channels": [],
                        "complaints_90d": 0,
                        "open_rate_recent": 0.4,
                        "open_rate_before": 0.6,
                    },
                    "next_follow_up": NEXT_FOLLOW_UP_EXAMPLE,
                }
            ]
        }
    }


class ScheduleItem(Output):
    """One customer in a queue or a status list."""

    customer_id: str
    status: StatusCode
    due_at: Instant
    overdue_at: Instant | None
    segment: str | None
    owner: OwnerRead
    rule: str

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "customer_id": "c-1001",
                    "status": "overdue",
                    "due_at": "2026-11-15T09:00:00Z",
                    "overdue_at": "2026-11-17T09:00:00Z",
                    "segment": "strategic",
                    "owner": {"rep_id": "rep-7", "team": "north-sales"},
                    "rule": "negotiation",
                }
            ]
        }
    }


class StatusLookup(Input):
    customer_ids: list[ExternalId] = Field(
        min_length=1, max_length=500, description="Customers to read, in the order to answer."
    )
    as_of: JudgedInstant | None = Field(
        default=None, description="Any instant, past or future; default now."
    )

    model_config = {
        "json_schema_extra": {"examples": [{"customer_ids": ["c-1001", "c-1002", "c-0000"]}]}
    }


class StatusLookupRead(Output):
    items: list[StatusRead] = Field(description="The status of every known customer asked for.")
    not_found: list[str] = Field(description="The ids asked for that name no customer.")
