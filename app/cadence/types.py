"""Plain data the cadence engine reads and returns. No I/O, no framework types."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from enum import StrEnum

WELL_KNOWN_CHANNELS = frozenset(
    {
        "phone", "email", "sms", "im", "meeting", "video", "visit", "webinar", "event",
        "social", "ad", "web", "chat", "letter", "other",
    }
)  # fmt: skip
DEPTH_ORDER = {"light": 1, "value": 2, "deep": 3}


class StatusCode(StrEnum):
    suppressed = "suppressed"
    over_contacted = "over_contacted"
    overdue = "overdue"
    due = "due"
    on_track = "on_track"


# --- Policy -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BusinessDays:
    weekdays: frozenset[int]  # ISO: 1 = Monday ... 7 = Sunday
    holidays_country: str | None = None


@dataclass(frozen=True, slots=True)
class HoursRange:
    """[start, end) in local wall-clock time; may wrap midnight (quiet hours do)."""

    start: time
    end: time


@dataclass(frozen=True, slots=True)
class Match:
    segment: frozenset[str] | None = None
    stage: frozenset[str] | None = None
    market: frozenset[str] | None = None
    industry: frozenset[str] | None = None
    stage_age_days_lt: int | None = None
    stage_age_days_gte: int | None = None
    # outbound, non-automated contacts since the stage was entered
    outbound_in_stage_lt: int | None = None
    outbound_in_stage_gte: int | None = None
    rfm_segment: frozenset[str] | None = None  # "none": a customer outside the RFM population

    @property
    def is_catch_all(self) -> bool:
        return self == Match()


@dataclass(frozen=True, slots=True)
class Cap:
    window_days: int
    max: int
    channels: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class Target:
    window_days: int
    min: int
    depth: str | None = None


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    match: Match
    follow_up_days: int
    overdue_after_days: int
    min_gap_hours: float = 0
    channel: str | None = None
    count_automated: bool = True
    caps: tuple[Cap, ...] = ()
    targets: tuple[Target, ...] = ()
    source: str | None = None  # the brief's row a default rule encodes


@dataclass(frozen=True, slots=True)
class Policy:
    rules: tuple[Rule, ...]
    version: int = 0
    timezone: str = "UTC"
    business_days: BusinessDays | None = None
    contact_hours: HoursRange | None = None
    recent_contact_hours: float = 24
    fatigue_days: int = 30
    complaint_pause_days: int = 90
    segment_weights: Mapping[str, float] = field(default_factory=dict)
    rfm_window_days: int = 365  # purchases within this many days before a snapshot count
    retention_days: int | None = None  # touches older than this are deleted (None: kept)


# --- Customer -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Profile:
    customer_id: str
    created_at: datetime
    stage_entered_at: datetime
    segment: str | None = None
    stage: str | None = None
    market: str | None = None
    industry: str | None = None
    owner_rep: str | None = None
    owner_team: str | None = None
    timezone: str | None = None
    country: str | None = None
    opted_out_channels: frozenset[str] = frozenset()
    paused_until: datetime | None = None
    preferred_channels: tuple[str, ...] = ()
    max_contacts_per_30d: int | None = None
    quiet_hours: HoursRange | None = None
    rfm_segment: str | None = None  # in the tenant's last RFM snapshot; None: outside it


# --- Activity: what the store knows of a customer's touches ---------------------------------


@dataclass(frozen=True, slots=True)
class DayCount:
    """Contacts of one channel on one UTC day, or in a stretch of time the store chose: the
    contacts in (``after``, ``until``] when both are set (several whole days, or part of one,
    then ``day`` is the first day it touches)."""

    day: date
    channel: str
    outbound: int = 0
    outbound_automated: int = 0  # of `outbound`, how many were automated
    inbound: int = 0
    light: int = 0  # contacts (either direction) of each depth
    value: int = 0
    deep: int = 0
    engaged: int = 0  # outbound contacts opened or clicked by the instant judged
    after: datetime | None = None
    until: datetime | None = None
    first_at: datetime | None = None  # its earliest contact, when the store knows it


@dataclass(frozen=True, slots=True)
class ContactEvent:
    """One contact, exactly placed in time."""

    at: datetime
    channel: str
    outbound: bool
    automated: bool = False
    depth: str | None = None
    engaged: bool = False  # opened or clicked by the instant judged


class SignalKind(StrEnum):
    unsubscribed = "unsubscribed"
    complained = "complained"


@dataclass(frozen=True, slots=True)
class Signal:
    at: datetime
    kind: SignalKind
    channel: str


@dataclass(frozen=True, slots=True)
class Actor:
    """Who contacts, or holds a lock (a lock's holder names exactly one of the three)."""

    rep_id: str | None = None
    team: str | None = None
    partner_id: str | None = None

    def is_same_as(self, other: "Actor") -> bool:
        """The same actor: of the same partner (or both the company's own), every id both name
        agrees, and they name at least one in common."""
        if self.partner_id != other.partner_id:
            return False
        pairs = [
            (mine, theirs)
            for mine, theirs in (
                (self.rep_id, other.rep_id),
                (self.team, other.team),
                (self.partner_id, other.partner_id),
            )
            if mine is not None and theirs is not None
        ]
        return bool(pairs) and all(mine == theirs for mine, theirs in pairs)

    def is_held_by(self, holder: "Actor") -> bool:
        """The actor is (part of) the lock's holder: its partner, or the company's own team or
        rep (a partner's people never pass for the company's)."""
        if holder.partner_id is not None:
            return holder.partner_id == self.partner_id
        if self.partner_id is not None:
            return False
        return (holder.team is not None and holder.team == self.team) or (
            holder.rep_id is not None and holder.rep_id == self.rep_id
        )


@dataclass(frozen=True, slots=True)
class LockHold:
    """A contact lock on the customer, active over [starts_at, ends_at)."""

    holder: Actor
    starts_at: datetime
    ends_at: datetime

    def holds_at(self, instant: datetime) -> bool:
        return self.starts_at <= instant < self.ends_at


@dataclass(frozen=True, slots=True)
class PlannedContact:
    """An open contact plan (filed, or a reservation) of some actor."""

    actor: Actor
    channel: str
    planned_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class ContactBy:
    """A recent contact, and the actor who made it."""

    at: datetime
    actor: Actor


@dataclass(frozen=True, slots=True)
class Surroundings:
    """What other actors do around a customer, as a conflict check sees it near its instant."""

    plans: Sequence[PlannedContact] = ()
    recent_contacts: Sequence[ContactBy] = ()


@dataclass(frozen=True, slots=True)
class Reservation:
    """A contact planned by a conflict check; it counts against caps until it expires."""

    channel: str
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Activity:
    """A bounded summary of a customer's touches (and reservations and locks), enough to judge
    any window up to a year.

    ``days`` holds per-channel counts of days or stretches of time; ``events`` holds the
    exact contacts of the UTC days listed in ``exact_days``. The two never cover the same
    instant. A window counts the stretches wholly inside it and the events; a stretch only
    partly inside is reported missing (its days, for the store to give in finer grain).
    """

    last_contact_at: datetime | None = None
    last_outbound_at: datetime | None = None
    last_inbound_at: datetime | None = None
    last_manual_contact_at: datetime | None = None  # the last one not automated
    last_manual_outbound_at: datetime | None = None
    last_response_channel: str | None = None
    outbound_in_stage: int = 0  # outbound, not automated, since the stage was entered
    days: Sequence[DayCount] = ()
    exact_days: frozenset[date] = frozenset()
    events: Sequence[ContactEvent] = ()
    signals: Sequence[Signal] = ()
    reservations: Sequence[Reservation] = ()
    locks: Sequence[LockHold] = ()  # only needed to tell whether the owner may contact now
    # the first touch dated after the instant judged, or email engaged after it
    next_touch_at: datetime | None = None


# --- Output ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reason:
    code: str
    message: str
    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class WindowCount:
    total: int
    by_channel: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class CapState:
    window_days: int
    max: int
    used: int
    remaining: int
    frees_at: datetime | None
    channels: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class TargetState:
    window_days: int
    min: int
    done: int
    met: bool
    depth: str | None = None


@dataclass(frozen=True, slots=True)
class Fatigue:
    unsubscribed_channels: tuple[str, ...]
    complaints_90d: int
    open_rate_recent: float | None
    open_rate_before: float | None


@dataclass(frozen=True, slots=True)
class NextFollowUp:
    due_at: datetime
    earliest_at: datetime
    overdue_at: datetime | None
    channel: str | None
    reason: str
    counted_from: datetime | None  # the contact the follow-up clock runs from


@dataclass(frozen=True, slots=True)
class Standing:
    """What a conflict check reads of a status: the rule that applies and the caps' use."""

    rule: str
    caps: tuple[CapState, ...]


@dataclass(frozen=True, slots=True)
class Status:
    as_of: datetime
    policy_version: int
    rule: str
    status: StatusCode
    contactable_now: bool
    reasons: tuple[Reason, ...]
    last_contact_at: datetime | None
    last_outbound_at: datetime | None
    last_inbound_at: datetime | None
    counts: Mapping[str, WindowCount]
    caps: tuple[CapState, ...]
    targets: tuple[TargetState, ...]
    fatigue: Fatigue
    next_follow_up: NextFollowUp
    suppressed_until: datetime | None  # the schedule the store keeps, for lists and queues
    over_until: datetime | None
    recheck_at: datetime | None
    valid_until: datetime | None  # the first instant anything here may change; None: never
    missing_days: frozenset[date] = frozenset()

    @property
    def standing(self) -> Standing:
        return Standing(self.rule, self.caps)
