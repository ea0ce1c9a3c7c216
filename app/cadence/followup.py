"""When and how to contact a customer next."""

from collections.abc import Iterable
from datetime import datetime, timedelta

from app.cadence.calendar import Calendar
from app.cadence.fatigue import is_opted_out
from app.cadence.types import Activity, NextFollowUp, Profile, Rule


def pick_channel(profile: Profile, activity: Activity, rule: Rule) -> str | None:
    """The first preferred channel not opted out, else the one that last got a response,
    else the rule's."""
    candidates = [*profile.preferred_channels, activity.last_response_channel, rule.channel]
    return next((c for c in candidates if c and not is_opted_out(profile, c)), None)


def earliest_raw(
    rule: Rule, profile: Profile, activity: Activity, constraints: Iterable[datetime]
) -> datetime | None:
    """The latest of the minimum gap's end and the other constraints (cap frees, pauses)."""
    terms = list(constraints)
    if activity.last_outbound_at is not None:
        terms.append(activity.last_outbound_at + timedelta(hours=rule.min_gap_hours))
    if profile.paused_until is not None:
        terms.append(profile.paused_until)
    return max(terms, default=None)


def next_follow_up(
    rule: Rule,
    profile: Profile,
    activity: Activity,
    calendar: Calendar,
    constraints: Iterable[datetime],
) -> NextFollowUp:
    last = activity.last_contact_at
    base = last if last is not None else profile.created_at
    raw_due = calendar.add_days(last, rule.follow_up_days) if last is not None else base
    held = earliest_raw(rule, profile, activity, constraints)
    earliest_at = calendar.next_slot(held if held is not None else base)
    pushed = held is not None and held > raw_due
    due_at = calendar.next_slot(max(raw_due, held) if held is not None else raw_due)
    overdue_at = None
    if last is not None:
        # never before due_at: a minute after it, so that a due customer is due for a while
        overdue_at = max(
            calendar.add_days(last, rule.overdue_after_days), due_at + timedelta(minutes=1)
        )
    channel = pick_channel(profile, activity, rule)
    return NextFollowUp(
        due_at=due_at, earliest_at=earliest_at, overdue_at=overdue_at, channel=channel,
        reason=_explain(rule, last, channel, pushed),
    )  # fmt: skip


def _explain(rule: Rule, last: datetime | None, channel: str | None, pushed: bool) -> str:
    via = f" by {channel}" if channel else ""
    if last is None:
        return f"Never contacted: make a first contact{via} (rule {rule.name})."
    held = " once contact is allowed again" if pushed else ""
    return (
        f"Follow up{via} {rule.follow_up_days} days after the last contact"
        f" ({last.date().isoformat()}){held} (rule {rule.name})."
    )
