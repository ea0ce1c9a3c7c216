"""When and how to contact a customer next."""

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from app.cadence.calendar import Calendar
from app.cadence.fatigue import is_opted_out
from app.cadence.types import Activity, NextFollowUp, Profile, Rule

# Where a follow-up turns when every channel it would use is paused by a complaint: the
# brief's advice is to apologise and switch channel, and a call is the personal one.
SWITCH_ORDER = ("phone", "email", "im", "sms", "video", "meeting", "visit", "letter")


def counted_from(rule: Rule, activity: Activity) -> datetime | None:
    """The contact the rule's follow-up clock runs from: automated contacts move it only
    when the rule counts them."""
    return activity.last_contact_at if rule.count_automated else activity.last_manual_contact_at


def gap_from(rule: Rule, activity: Activity) -> datetime | None:
    """The outbound contact the rule's minimum gap runs from."""
    return activity.last_outbound_at if rule.count_automated else activity.last_manual_outbound_at


def pick_channel(
    profile: Profile, activity: Activity, rule: Rule, paused: Mapping[str, datetime]
) -> str | None:
    """The first preferred channel not opted out nor paused by a complaint, else the one
    that last got a response, else the rule's; when a complaint pauses all of those, the
    first open channel of SWITCH_ORDER."""
    candidates = [*profile.preferred_channels, activity.last_response_channel, rule.channel]
    allowed = [c for c in candidates if c and not is_opted_out(profile, c)]
    if not allowed:
        return None
    switches = [c for c in SWITCH_ORDER if not is_opted_out(profile, c)]
    return next((c for c in [*allowed, *switches] if c not in paused), allowed[0])


def earliest_raw(
    rule: Rule, profile: Profile, activity: Activity, constraints: Iterable[datetime]
) -> datetime | None:
    """The latest of the minimum gap's end and the other constraints (cap frees, pauses)."""
    terms = list(constraints)
    if (gap_start := gap_from(rule, activity)) is not None:
        terms.append(gap_start + timedelta(hours=rule.min_gap_hours))
    if profile.paused_until is not None:
        terms.append(profile.paused_until)
    return max(terms, default=None)


def next_follow_up(
    rule: Rule,
    profile: Profile,
    activity: Activity,
    calendar: Calendar,
    constraints: Iterable[datetime],
    paused: Mapping[str, datetime],
) -> NextFollowUp:
    """``constraints``: instants before which no contact fits (caps freeing); ``paused``:
    the channels a complaint pauses, with their ends."""
    last = counted_from(rule, activity)
    channel = pick_channel(profile, activity, rule, paused)
    pause_end = paused.get(channel) if channel else None
    base = last if last is not None else profile.created_at
    raw_due = calendar.add_days(last, rule.follow_up_days) if last is not None else base
    held = earliest_raw(rule, profile, activity, [*constraints, *filter(None, [pause_end])])
    earliest_at = calendar.next_slot(held if held is not None else base)
    pushed = held is not None and held > raw_due
    due_at = calendar.next_slot(max(raw_due, held) if held is not None else raw_due)
    overdue_at = None
    if last is not None:
        # never before due_at: a minute after it, so that a due customer is due for a while
        overdue_at = max(
            calendar.add_days(last, rule.overdue_after_days), due_at + timedelta(minutes=1)
        )
    return NextFollowUp(
        due_at=due_at, earliest_at=earliest_at, overdue_at=overdue_at, channel=channel,
        reason=_explain(rule, last, activity, channel, pushed), counted_from=last,
    )  # fmt: skip


def _explain(
    rule: Rule, last: datetime | None, activity: Activity, channel: str | None, pushed: bool
) -> str:
    via = f" by {channel}" if channel else ""
    if last is None:
        if activity.last_contact_at is not None:
            return (
                f"Only automated contacts so far, which rule {rule.name} does not count: make"
                f" a personal contact{via}."
            )
        return f"Never contacted: make a first contact{via} (rule {rule.name})."
    held = " once contact is allowed again" if pushed else ""
    return (
        f"Follow up{via} {rule.follow_up_days} days after the last contact"
        f" ({last.date().isoformat()}){held} (rule {rule.name})."
    )
