"""The cadence engine: pure rules for how often to contact a customer.

Plain data in, plain data out; time is always an argument. Nothing here does I/O or reads
the clock, and nothing imports the rest of the app (a test guards that).
"""

from app.cadence.defaults import DEFAULT_POLICY
from app.cadence.status import days_to_read, evaluate, window_days_needed
from app.cadence.types import (
    Activity,
    BusinessDays,
    Cap,
    ContactEvent,
    DayCount,
    HoursRange,
    Match,
    Policy,
    Profile,
    Reservation,
    Rule,
    Signal,
    SignalKind,
    Status,
    StatusCode,
    Target,
)

__all__ = [
    "DEFAULT_POLICY",
    "Activity",
    "BusinessDays",
    "Cap",
    "ContactEvent",
    "DayCount",
    "HoursRange",
    "Match",
    "Policy",
    "Profile",
    "Reservation",
    "Rule",
    "Signal",
    "SignalKind",
    "Status",
    "StatusCode",
    "Target",
    "days_to_read",
    "evaluate",
    "window_days_needed",
]
