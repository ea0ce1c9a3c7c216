from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import ConfigDict, Field

from app.schemas import Instant, Output


class Interval(StrEnum):
    day = "day"
    week = "week"  # ISO weeks, Monday first
    month = "month"
    quarter = "quarter"


class ContactsKey(StrEnum):
    channel = "channel"
    direction = "direction"
    category = "category"
    automated = "automated"
    team = "team"
    rep = "rep"
    partner = "partner"
    segment = "segment"
    owner_team = "owner_team"


class OutcomesKey(StrEnum):
    channel = "channel"
    automated = "automated"
    team = "team"
    segment = "segment"


class OwnerKey(StrEnum):
    owner_rep = "owner_rep"
    owner_team = "owner_team"


@dataclass(frozen=True, slots=True)
class Filters:
    """What selects the touches a report counts (unset: any); team, rep_id and partner_id are
    the touch's actor."""

    channel: str | None = None
    team: str | None = None
    rep_id: str | None = None
    partner_id: str | None = None
    category: str | None = None
    automated: bool | None = None


@dataclass(frozen=True, slots=True)
class Window:
    """A report's range, [since, until)."""

    since: datetime
    until: datetime


def counted(description: str) -> Any:
    return Field(ge=0, description=f"{description}.")


def rated(description: str) -> Any:
    return Field(description=f"{description}; null when that is 0, rounded to 4 decimal places.")


From = Annotated[
    Instant, Field(alias="from", description="The start of the range, inclusive (UTC).")
]
To = Annotated[Instant, Field(description="The end of the range, exclusive (UTC).")]
Timezone = Annotated[
    str,
    Field(description="The active policy's `timezone`: the zone periods are cut in."),
]
Group = Annotated[
    dict[str, str | bool | None],
    Field(
        description="The row's value of each `group_by` key, by key name (null: the touch or"
        " profile has none; `automated` is a boolean); `{}` without `group_by`."
    ),
]
PeriodStart = Annotated[
    str | None,
    Field(
        description="The first instant of the period, in the policy's zone with its offset"
        " (e.g. `2026-11-01T00:00:00+08:00`); null without `interval` (one period)."
    ),
]

Contacts = Annotated[
    int, counted("`contact` touches (not engagements or purchases) that occurred in the period")
]
Outbound = Annotated[int, counted("Outbound contacts among `contacts`")]
Inbound = Annotated[int, counted("Inbound contacts among `contacts`")]
Automated = Annotated[int, counted("Automated contacts among `contacts`")]
Customers = Annotated[
    int,
    counted("The distinct customers of `contacts` (in `totals`: distinct over the whole range)"),
]
Effective = Annotated[
    int,
    counted(
        "Contacts with outcome `completed`, `replied`, `meeting_booked` or `converted`, or with"
        " an `opened`, `clicked`, `replied`, `meeting_booked` or `converted` engagement pointing"
        " at them"
    ),
]
Responded = Annotated[
    int,
    counted(
        "Outbound contacts followed by a response: an inbound contact of the same customer within"
        " 7 days (168 hours) after it, or the outcome `replied`, `meeting_booked` or `converted`"
        " on the contact itself or on an engagement pointing at it"
    ),
]
ResponseRate = Annotated[float | None, rated("`responded` / `outbound`")]


class ContactsRow(Output):
    """One period and group's contact volume."""

    period_start: PeriodStart
    group: Group
    contacts: Contacts
    outbound: Outbound
    inbound: Inbound
    automated: Automated
    customers: Customers
    effective: Effective
    responded: Responded
    response_rate: ResponseRate


class ContactsTotals(Output):
    """The whole range's contact volume, every group together."""

    contacts: Contacts
    outbound: Outbound
    inbound: Inbound
    automated: Automated
    customers: Customers
    effective: Effective
    responded: Responded
    response_rate: ResponseRate


CONTACTS_EXAMPLE: dict[str, Any] = {
    "from": "2026-10-31T16:00:00Z",
    "to": "2026-11-30T16:00:00Z",
    "interval": "month",
    "timezone": "Asia/Shanghai",
    "group_by": ["channel"],
    "rows": [
        {
            "period_start": "2026-11-01T00:00:00+08:00", "group": {"channel": "email"},
            "contacts": 120, "outbound": 110, "inbound": 10, "automated": 80, "customers": 64,
            "effective": 30, "responded": 18, "response_rate": 0.1636,
        }
    ],
    "totals": {
        "contacts": 200, "outbound": 180, "inbound": 20, "automated": 80, "customers": 90,
        "effective": 44, "responded": 25, "response_rate": 0.1389,
    },
}  # fmt: skip


class ContactsReport(Output):
    """Contact volume per period and group, with the range's totals."""

    from_: From
    to: To
    interval: Interval | None = Field(
        description="The length of a period: `day`, `week` (ISO, Monday first), `month`,"
        " `quarter`; null: the whole range is one period."
    )
    timezone: Timezone
    group_by: list[ContactsKey] = Field(description="The keys rows are grouped by, in order.")
    rows: list[ContactsRow] = Field(
        description="Ordered by `period_start`, then by the group values (text by code point,"
        " `false` before `true`, null last); periods without contacts are left out."
    )
    totals: ContactsTotals

    model_config = ConfigDict(
        populate_by_name=True, json_schema_extra={"examples": [CONTACTS_EXAMPLE]}
    )


OutcomeContacts = Annotated[
    int, counted("Outbound contacts of this follow-up number that occurred in the range")
]
Opened = Annotated[
    int, counted("Of `contacts`, those with an `opened` or `clicked` engagement pointing at them")
]
Clicked = Annotated[
    int, counted("Of `contacts`, those with a `clicked` engagement pointing at them")
]
Replied = Annotated[
    int,
    counted(
        "Of `contacts`, those with a `replied` engagement or outcome, or followed by an inbound"
        " contact of the customer within 7 days (168 hours)"
    ),
]
MeetingBooked = Annotated[
    int, counted("Of `contacts`, those with a `meeting_booked` outcome or engagement")
]
Converted = Annotated[int, counted("Of `contacts`, those with a `converted` outcome or engagement")]
Completed = Annotated[
    int, counted("Of `contacts`, those with outcome `completed` (a call that connected)")
]

OpenRate = Annotated[float | None, rated("`opened` / `contacts`")]
ReplyRate = Annotated[float | None, rated("`replied` / `contacts`")]
MeetingRate = Annotated[float | None, rated("`meeting_booked` / `contacts`")]
ConnectRate = Annotated[float | None, rated("`completed` / `contacts`")]


class OutcomeRow(Output):
    """The outcomes of one group's outbound contacts of one follow-up number."""

    n: int = Field(
        ge=1,
        le=10,
        description="The follow-up number: 1 plus the outbound contacts of the customer since"
        " its last response before this one (an inbound contact, or a `replied`,"
        " `meeting_booked` or `converted` engagement; with none, since its first contact);"
        " 10 means 10 or more.",
    )
    group: Group
    contacts: OutcomeContacts
    opened: Opened
    clicked: Clicked
    replied: Replied
    meeting_booked: MeetingBooked
    converted: Converted
    completed: Completed
    open_rate: OpenRate
    reply_rate: ReplyRate
    meeting_rate: MeetingRate
    connect_rate: ConnectRate


OUTCOMES_EXAMPLE: dict[str, Any] = {
    "from": "2026-08-01T00:00:00Z",
    "to": "2026-11-01T00:00:00Z",
    "timezone": "UTC",
    "group_by": ["channel"],
    "rows": [
        {
            "n": 1, "group": {"channel": "email"}, "contacts": 400, "opened": 120,
            "clicked": 30, "replied": 20, "meeting_booked": 4, "converted": 1, "completed": 0,
            "open_rate": 0.3, "reply_rate": 0.05, "meeting_rate": 0.01, "connect_rate": 0.0,
        },
        {
            "n": 2, "group": {"channel": "email"}, "contacts": 310, "opened": 109,
            "clicked": 25, "replied": 14, "meeting_booked": 5, "converted": 1, "completed": 0,
            "open_rate": 0.3516, "reply_rate": 0.0452, "meeting_rate": 0.0161,
            "connect_rate": 0.0,
        },
    ],
}  # fmt: skip


class OutcomesReport(Output):
    """Outcomes by follow-up number (and group)."""

    from_: From
    to: To
    timezone: Timezone
    group_by: list[OutcomesKey] = Field(description="The key rows are grouped by, if any.")
    rows: list[OutcomeRow] = Field(
        description="Ordered by the group value (text by code point, `false` before `true`,"
        " null last), then by `n`; only numbers that occurred are listed."
    )

    model_config = ConfigDict(
        populate_by_name=True, json_schema_extra={"examples": [OUTCOMES_EXAMPLE]}
    )


OwnedCustomers = Annotated[int, counted("Customers owned now (by the owner of this row)")]
DueNow = Annotated[
    int, counted("Of `customers`, those whose status now is `due` (as `/v1/statuses` says)")
]
OverdueNow = Annotated[int, counted("Of `customers`, those whose status now is `overdue`")]
OverContactedNow = Annotated[
    int, counted("Of `customers`, those whose status now is `over_contacted`")
]
SuppressedNow = Annotated[int, counted("Of `customers`, those whose status now is `suppressed`")]
FollowUps = Annotated[
    int,
    counted(
        "Outbound, non-automated contacts that occurred in the range to the customers of this row"
    ),
]
Late = Annotated[
    int,
    counted(
        "Of `follow_ups`, those that occurred at or after the `overdue_at` the customer's status"
        " had an instant (1 microsecond) before them"
    ),
]
OnTimeRate = Annotated[float | None, rated("(`follow_ups` - `late`) / `follow_ups`")]


class ComplianceRow(Output):
    """One owner's customers now and follow-ups in the range."""

    owner: str | None = Field(
        description="The owner's `rep_id` (or `team`, with `group_by=owner_team`); null: the"
        " customers without one."
    )
    customers: OwnedCustomers
    due_now: DueNow
    overdue_now: OverdueNow
    over_contacted_now: OverContactedNow
    suppressed_now: SuppressedNow
    follow_ups: FollowUps
    late: Late
    on_time_rate: OnTimeRate


class ComplianceTotals(Output):
    """Every owner together."""

    customers: OwnedCustomers
    due_now: DueNow
    overdue_now: OverdueNow
    over_contacted_now: OverContactedNow
    suppressed_now: SuppressedNow
    follow_ups: FollowUps
    late: Late
    on_time_rate: OnTimeRate


COMPLIANCE_EXAMPLE: dict[str, Any] = {
    "from": "2026-10-01T00:00:00Z",
    "to": "2026-11-01T00:00:00Z",
    "group_by": "owner_rep",
    "rows": [
        {
            "owner": "rep-7", "customers": 40, "due_now": 6, "overdue_now": 2,
            "over_contacted_now": 1, "suppressed_now": 0, "follow_ups": 52, "late": 5,
            "on_time_rate": 0.9038,
        },
        {
            "owner": None, "customers": 3, "due_now": 3, "overdue_now": 0,
            "over_contacted_now": 0, "suppressed_now": 0, "follow_ups": 0, "late": 0,
            "on_time_rate": None,
        },
    ],
    "totals": {
        "customers": 43, "due_now": 9, "overdue_now": 2, "over_contacted_now": 1,
        "suppressed_now": 0, "follow_ups": 52, "late": 5, "on_time_rate": 0.9038,
    },
}  # fmt: skip


class ComplianceReport(Output):
    """Cadence compliance per owner."""

    from_: From
    to: To
    group_by: OwnerKey = Field(description="Whose customers a row counts: by rep or by team.")
    rows: list[ComplianceRow] = Field(
        description="One per owner of some customer now, by owner (code point order), the"
        " row of customers without an owner last."
    )
    totals: ComplianceTotals

    model_config = ConfigDict(
        populate_by_name=True, json_schema_extra={"examples": [COMPLIANCE_EXAMPLE]}
    )
