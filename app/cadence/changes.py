"""When a status judged at one instant stops being true with nothing new written: the next
instant its status may change other than by due or overdue (``recheck_at``, which lists
watch), and the next instant anything in it may (``valid_until``, which bounds how long a
stored status document may be served)."""

from collections.abc import Iterable
from datetime import datetime, timedelta

from app.cadence.calendar import Calendar
from app.cadence.caps import CapUse
from app.cadence.fatigue import (
    COMPLAINT_DAYS,
    FATIGUE_WINDOWS,
    SIGNAL_LOOKBACK_DAYS,
    Condition,
    signals_before,
)
from app.cadence.followup import gap_from
from app.cadence.rules import next_rule_change
from app.cadence.types import Activity, NextFollowUp, Policy, Profile, Rule, SignalKind
from app.cadence.windows import Counter, Window, first_instant


def first_after(as_of: datetime, candidates: Iterable[datetime | None]) -> datetime | None:
    return min((t for t in candidates if t is not None and t > as_of), default=None)


def recheck_at(
    policy: Policy,
    profile: Profile,
    activity: Activity,
    caps: list[CapUse],
    conditions: list[Condition],
    paused: dict[str, datetime],
    as_of: datetime,
) -> datetime | None:
    """The next instant something other than due or overdue may change the status:
    ``conditions`` are the suppressions and over-contact reasons that hold now."""
    candidates: list[datetime | None] = [next_rule_change(policy, profile, as_of)]
    candidates += [c.until for c in conditions]
    candidates += list(paused.values())
    candidates += [c.state.frees_at for c in caps] + [c.exceeded_until for c in caps]
    candidates += [r.expires_at for r in activity.reservations]
    candidates += [activity.next_touch_at]  # a touch dated ahead counts from its instant
    candidates += _engagement_changes(activity)
    return first_after(as_of, candidates)


def _engagement_changes(activity: Activity) -> list[datetime]:
    """Open rates move when an email crosses the 2-, 30- or 90-day line (a day early if
    bucketed)."""
    emails = [e.at for e in activity.events if e.channel == "email" and e.outbound]
    emails += [first_instant(d) for d in activity.days if d.channel == "email" and d.outbound]
    return [at + timedelta(days=days) for at in emails for days in FATIGUE_WINDOWS]


def valid_until(
    recheck: datetime | None,
    rule: Rule,
    activity: Activity,
    counter: Counter,
    windows: Iterable[int],
    follow_up: NextFollowUp,
    calendar: Calendar,
    as_of: datetime,
) -> datetime | None:
    """The first instant after ``as_of`` at which anything in the status may differ: the
    status itself (``recheck``, due, overdue), a count (a contact leaving one of
    ``windows``), ``contactable_now`` (a gap ending, a lock ending, the calendar turning),
    or the fatigue figures. None: nothing changes until something is written."""
    candidates: list[datetime | None] = [recheck, follow_up.due_at, follow_up.overdue_at]
    candidates += [counter.first_leave(Window(as_of, days)) for days in windows]
    if (gap_start := gap_from(rule, activity)) is not None and rule.min_gap_hours > 0:
        candidates.append(gap_start + timedelta(hours=rule.min_gap_hours))
    candidates += [lock.ends_at for lock in activity.locks]
    candidates += _signal_changes(activity, as_of)
    candidates.append(calendar.next_change(as_of))
    return first_after(as_of, candidates)


def _signal_changes(activity: Activity, as_of: datetime) -> list[datetime]:
    """A complaint leaves the 90-day count; any signal leaves what the store reads."""
    complaints = signals_before(activity, SignalKind.complained, as_of)
    ends = [s.at + timedelta(days=COMPLAINT_DAYS) for s in complaints]
    ends += [s.at + timedelta(days=SIGNAL_LOOKBACK_DAYS) for s in activity.signals]
    return ends
