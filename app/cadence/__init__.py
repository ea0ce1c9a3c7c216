"""The cadence engine: pure rules for how often to contact a customer.

Plain data in, plain data out; time is always an argument. Nothing here does I/O or reads
the clock, and nothing imports the rest of the app (a test guards that).
"""

from app.cadence.conflicts import ContactRequest, Decision, Verdict, check
from app.cadence.defaults import DEFAULT_POLICY
from app.cadence.fatigue import FATIGUE_WINDOWS, SIGNAL_LOOKBACK_DAYS
from app.cadence.rules import ordinal_limit
from app.cadence.status import evaluate, window_days_needed
from app.cadence.types import (
    Activity,
    Actor,
    BusinessDays,
    Cap,
    ContactBy,
    ContactEvent,
    DayCount,
    HoursRange,
    LockHold,
    Match,
    PlannedContact,
    Policy,
    Profile,
    Reason,
    Reservation,
    Rule,
    Signal,
    SignalKind,
    Standing,
    Status,
    StatusCode,
    Surroundings,
    Target,
)
from app.cadence.windows import BucketPlan, first_plan, plan_buckets

__all__ = [
    "DEFAULT_POLICY",
    "FATIGUE_WINDOWS",
    "SIGNAL_LOOKBACK_DAYS",
    "Activity",
    "Actor",
    "BucketPlan",
    "BusinessDays",
    "Cap",
    "ContactBy",
    "ContactEvent",
    "ContactRequest",
    "DayCount",
    "Decision",
    "HoursRange",
    "LockHold",
    "Match",
    "PlannedContact",
    "Policy",
    "Profile",
    "Reason",
    "Reservation",
    "Rule",
    "Signal",
    "SignalKind",
    "Standing",
    "Status",
    "StatusCode",
    "Surroundings",
    "Target",
    "Verdict",
    "check",
    "evaluate",
    "first_plan",
    "ordinal_limit",
    "plan_buckets",
    "window_days_needed",
]
