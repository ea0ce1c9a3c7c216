"""Conflict checks: may this actor contact this customer on this channel at this instant?

Deny reasons come from the same status the engine computes for ``/status``; warn reasons
come from what other actors do around the customer (ownership, recent contacts, plans).
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from app.cadence.calendar import Calendar, customer_calendar
from app.cadence.fatigue import (
    complaint_pause_reason,
    complaint_pauses,
    is_opted_out,
    signals_before,
)
from app.cadence.followup import gap_from
from app.cadence.types import (
    Activity,
    Actor,
    CapState,
    ContactBy,
    PlannedContact,
    Policy,
    Profile,
    Reason,
    Rule,
    SignalKind,
    Standing,
    Surroundings,
)


class Decision(StrEnum):
    allow = "allow"
    warn = "warn"
    deny = "deny"


@dataclass(frozen=True, slots=True)
class ContactRequest:
    channel: str
    actor: Actor
    at: datetime


@dataclass(frozen=True, slots=True)
class Verdict:
    decision: Decision
    reasons: tuple[Reason, ...]


def owner_of(profile: Profile) -> Actor:
    return Actor(rep_id=profile.owner_rep, team=profile.owner_team)


# --- Deny ---------------------------------------------------------------------------------


def common_denials(
    profile: Profile,
    activity: Activity,
    rule: Rule,
    calendar: Calendar,
    actor: Actor,
    at: datetime,
) -> list[Reason]:
    """What forbids any contact by this actor at ``at``, whatever the channel."""
    return [
        *_pause(profile, at),
        *_gap(rule, activity, at),
        *_calendar(calendar, at),
        *_locks(activity, actor, at),
    ]


def channel_denials(
    policy: Policy,
    profile: Profile,
    caps: Iterable[CapState],
    paused: dict[str, datetime],
    channel: str,
) -> list[Reason]:
    """What forbids a contact on this channel: an opt-out, a complaint about it, or a reached
    cap that counts it."""
    found = []
    if is_opted_out(profile, channel):
        found.append(Reason("opted_out", f"The customer opted out of {channel}."))
    if channel in paused:
        found.append(complaint_pause_reason(channel, paused[channel], policy))
    for cap in caps:
        if cap.used >= cap.max and (cap.channels is None or channel in cap.channels):
            message = (
                f"The cap of {cap.max} outbound contacts in {cap.window_days} days is reached."
            )
            found.append(Reason("cap_reached", message, cap.frees_at))
    return found


def _pause(profile: Profile, at: datetime) -> list[Reason]:
    if profile.paused_until is None or profile.paused_until <= at:
        return []
    return [Reason("paused", "Contact is paused at the customer's request.", profile.paused_until)]


def _gap(rule: Rule, activity: Activity, at: datetime) -> list[Reason]:
    last = gap_from(rule, activity)
    if last is None or rule.min_gap_hours <= 0:
        return []
    end = last + timedelta(hours=rule.min_gap_hours)
    if at >= end:
        return []
    message = f"At least {rule.min_gap_hours:g} hours must pass after the last outbound contact."
    return [Reason("min_gap", message, end)]


def _calendar(calendar: Calendar, at: datetime) -> list[Reason]:
    """A day that is no business day denies (until the next one opens); on a business day,
    the policy's contact hours and the customer's quiet hours."""
    if not calendar.is_business_day(calendar.local(at).date()):
        message = "Not a business day in the customer's calendar."
        return [Reason("non_business_day", message, calendar.next_opening(at))]
    found = []
    if calendar.outside_contact_hours(at):
        message = "Outside contact hours in the customer's time zone."
        found.append(Reason("outside_contact_hours", message, calendar.next_opening(at)))
    if calendar.in_quiet_hours(at):
        found.append(
            Reason("quiet_hours", "In the customer's quiet hours.", calendar.quiet_end(at))
        )
    return found


def _locks(activity: Activity, actor: Actor, at: datetime) -> list[Reason]:
    return [
        Reason(
            "locked",
            f"Another holder ({_name(lock.holder)}) has locked the customer.",
            lock.ends_at,
        )
        for lock in activity.locks
        if lock.holds_at(at) and not actor.is_held_by(lock.holder)
    ]


def _name(actor: Actor) -> str:
    parts = [("partner", actor.partner_id), ("team", actor.team), ("rep", actor.rep_id)]
    return ", ".join(f"{kind} {value}" for kind, value in parts if value is not None)


# --- Warn ---------------------------------------------------------------------------------


def warnings(
    policy: Policy,
    profile: Profile,
    activity: Activity,
    around: Surroundings,
    request: ContactRequest,
) -> list[Reason]:
    found = [*_recent_complaint(policy, activity, request), *_ownership(profile, request.actor)]
    window = timedelta(hours=policy.recent_contact_hours)
    if (until := _recent_by_other(around.recent_contacts, request, window)) is not None:
        message = "Another team or partner contacted the customer recently."
        found.append(Reason("recent_contact_by_other", message, until))
    if (until := _planned_by_other(around.plans, request, window)) is not None:
        message = "Another actor plans to contact the customer around this time."
        found.append(Reason("planned_by_other", message, until))
    return found


def _recent_complaint(policy: Policy, activity: Activity, request: ContactRequest) -> list[Reason]:
    """A complaint within ``fatigue_days`` about another channel: this one is open, but the
    customer is sore (apologise first)."""
    since = request.at - timedelta(days=policy.fatigue_days)
    complaints = [
        s
        for s in signals_before(activity, SignalKind.complained, request.at)
        if s.at > since and s.channel != request.channel
    ]
    if not complaints:
        return []
    last = complaints[-1]
    message = f"The customer complained about {last.channel} recently."
    return [Reason("recent_complaint", message, last.at + timedelta(days=policy.fatigue_days))]


def _ownership(profile: Profile, actor: Actor) -> list[Reason]:
    """The owner's rep differs from the actor's when both are set, else the team does."""
    if profile.owner_rep is not None and actor.rep_id is not None:
        other = profile.owner_rep != actor.rep_id
    else:
        other = None not in (profile.owner_team, actor.team) and profile.owner_team != actor.team
    if not other:
        return []
    return [Reason("owned_by_other", f"The customer is owned by {_name(owner_of(profile))}.")]


def is_by_other(contact: Actor, actor: Actor) -> bool:
    """A contact by another team, or another partner (the company itself being none)."""
    if not any((contact.rep_id, contact.team, contact.partner_id)):
        return False  # touches without an actor never count
    if (contact.partner_id or actor.partner_id) and contact.partner_id != actor.partner_id:
        return True
    return None not in (contact.team, actor.team) and contact.team != actor.team


def _recent_by_other(
    contacts: Sequence[ContactBy], request: ContactRequest, window: timedelta
) -> datetime | None:
    """When the last recent contact by another leaves the window, if there is one."""
    times = [
        c.at
        for c in contacts
        if request.at - window < c.at <= request.at and is_by_other(c.actor, request.actor)
    ]
    return max(times) + window if times else None


def _planned_by_other(
    plans: Sequence[PlannedContact], request: ContactRequest, window: timedelta
) -> datetime | None:
    """When the last open plan of another actor near ``at`` stops mattering, if there is one."""
    ends = [
        min(plan.planned_at + window, plan.expires_at)
        for plan in plans
        if abs(plan.planned_at - request.at) < window
        and request.at < plan.expires_at
        and not plan.actor.is_same_as(request.actor)
    ]
    return max(ends) if ends else None


# --- The decision ---------------------------------------------------------------------------


def denials(
    policy: Policy,
    profile: Profile,
    activity: Activity,
    standing: Standing,
    request: ContactRequest,
) -> list[Reason]:
    rule = next(r for r in policy.rules if r.name == standing.rule)
    calendar = customer_calendar(policy, profile)
    common = common_denials(profile, activity, rule, calendar, request.actor, request.at)
    paused = complaint_pauses(policy, activity, request.at)
    return [*channel_denials(policy, profile, standing.caps, paused, request.channel), *common]


def check(
    policy: Policy,
    profile: Profile,
    activity: Activity,
    standing: Standing,
    around: Surroundings,
    request: ContactRequest,
) -> Verdict:
    """Judge a contact at ``request.at`` by the customer's standing at that instant (its
    rule and caps; the rest comes from the profile, the activity and what others do)."""
    deny = denials(policy, profile, activity, standing, request)
    warn = warnings(policy, profile, activity, around, request)
    decision = Decision.deny if deny else Decision.warn if warn else Decision.allow
    return Verdict(decision, (*deny, *warn))
