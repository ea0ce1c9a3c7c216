"""The frequency status of one customer at one instant: the heart of Touchbase."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from app.cadence.calendar import Calendar, customer_calendar
from app.cadence.caps import CapUse, cap_use, caps_of, target_state
from app.cadence.changes import recheck_at, valid_until
from app.cadence.conflicts import channel_denials, common_denials, owner_of
from app.cadence.fatigue import (
    FATIGUE_WINDOWS,
    Condition,
    complaint_pause_reason,
    complaint_pauses,
    fatigue_of,
    is_falling,
    is_opted_out,
    recent_signal,
    reopens_at,
    suppressions,
)
from app.cadence.followup import next_follow_up
from app.cadence.rules import applicable_rule, candidate_rules
from app.cadence.types import (
    WELL_KNOWN_CHANNELS,
    Activity,
    Fatigue,
    NextFollowUp,
    Policy,
    Profile,
    Reason,
    Rule,
    SignalKind,
    Status,
    StatusCode,
    TargetState,
    WindowCount,
)
from app.cadence.windows import Counter, Selector, Window

COUNT_WINDOWS = {"7d": 7, "30d": 30, "90d": 90}


def window_days_needed(policy: Policy, profile: Profile, as_of: datetime) -> frozenset[int]:
    """Every window length a status at ``as_of`` may count over (the store reads their
    edges): those of every rule that may apply before the contact ordinal is known."""
    days = {*COUNT_WINDOWS.values(), *FATIGUE_WINDOWS}
    for rule in candidate_rules(policy, profile, as_of):
        days |= {counted.cap.window_days for counted in caps_of(rule, profile)}
        days |= {target.window_days for target in rule.targets}
    return frozenset(days)


@dataclass(frozen=True, slots=True)
class _Parts:
    """What a status is made of, judged once and read by every part of the answer."""

    rule: Rule
    counter: Counter
    calendar: Calendar
    fatigue: Fatigue
    caps: list[CapUse]
    paused: dict[str, datetime]  # channels a complaint pauses, with their ends
    suppressed: list[Condition]
    over: list[Condition]
    follow_up: NextFollowUp


def _judge(policy: Policy, profile: Profile, activity: Activity, as_of: datetime) -> _Parts:
    rule = applicable_rule(policy, profile, as_of, activity.outbound_in_stage)
    counter = Counter(activity)
    calendar = customer_calendar(policy, profile)
    caps = [cap_use(counted, counter, as_of) for counted in caps_of(rule, profile)]
    fatigue = fatigue_of(activity, counter, as_of)
    paused = complaint_pauses(policy, activity, as_of)
    held = [*_cap_frees(caps), *filter(None, [reopens_at(profile, paused)])]
    return _Parts(
        rule=rule, counter=counter, calendar=calendar, fatigue=fatigue, caps=caps, paused=paused,
        suppressed=suppressions(policy, profile, activity, as_of),
        over=_over_conditions(policy, activity, caps, fatigue, as_of),
        follow_up=next_follow_up(rule, profile, activity, calendar, held, paused),
    )  # fmt: skip


def evaluate(policy: Policy, profile: Profile, activity: Activity, as_of: datetime) -> Status:
    """Apply the policy to the customer's activity up to ``as_of``."""
    parts = _judge(policy, profile, activity, as_of)
    rule, counter, follow_up = parts.rule, parts.counter, parts.follow_up
    conditions = [*parts.suppressed, *parts.over]
    recheck = recheck_at(policy, profile, activity, parts.caps, conditions, parts.paused, as_of)
    targets = tuple(target_state(t, counter, as_of) for t in rule.targets)
    return Status(
        as_of=as_of,
        policy_version=policy.version,
        rule=rule.name,
        status=_status_code(parts, as_of),
        contactable_now=is_contactable(policy, profile, activity, parts, as_of),
        reasons=(*_reasons(policy, profile, activity, parts, as_of), *_targets_unmet(targets)),
        last_contact_at=activity.last_contact_at,
        last_outbound_at=activity.last_outbound_at,
        last_inbound_at=activity.last_inbound_at,
        counts=_counts(counter, as_of),
        caps=tuple(c.state for c in parts.caps),
        targets=targets,
        fatigue=parts.fatigue,
        next_follow_up=follow_up,
        suppressed_until=max((c.until for c in parts.suppressed if c.until), default=None),
        over_until=_over_until(parts.over, recheck),
        recheck_at=recheck,
        valid_until=valid_until(
            recheck, rule, activity, counter, _windows_of(rule, profile), follow_up,
            parts.calendar, as_of,
        ),
        missing_days=frozenset(counter.missing_days),
    )  # fmt: skip


def _counts(counter: Counter, as_of: datetime) -> dict[str, WindowCount]:
    both = Selector()
    counts = {}
    for label, days in COUNT_WINDOWS.items():
        by_channel = counter.by_channel(Window(as_of, days), both)
        counts[label] = WindowCount(total=sum(by_channel.values()), by_channel=by_channel)
    return counts


def _over_conditions(
    policy: Policy, activity: Activity, caps: list[CapUse], fatigue: Fatigue, as_of: datetime
) -> list[Condition]:
    found: list[Condition] = []
    for cap in (c for c in caps if c.exceeded):
        state = cap.state
        message = (
            f"{state.used} outbound contacts in {state.window_days} days,"
            f" over the cap of {state.max}."
        )
        found.append(
            Condition(Reason("cap_exceeded", message, cap.exceeded_until), cap.exceeded_until)
        )
    for kind, code in (
        (SignalKind.unsubscribed, "recent_unsubscribe"),
        (SignalKind.complained, "recent_complaint"),
    ):
        if (condition := recent_signal(kind, code, policy, activity, as_of)) is not None:
            found.append(condition)
    if is_falling(fatigue):
        message = (
            f"Email engagement is falling: open rate {fatigue.open_rate_recent:.0%} in the last"
            f" 30 days against {fatigue.open_rate_before:.0%} before."
        )
        found.append(Condition(Reason("falling_engagement", message), None))
    return found


def _over_until(over: list[Condition], recheck_at: datetime | None) -> datetime | None:
    """Until when the customer stays over-contacted with no new touch; an end not known
    exactly (falling engagement) holds until the next recheck."""
    if not over:
        return None
    ends = [c.until if c.until is not None else recheck_at for c in over]
    return max((e for e in ends if e is not None), default=None)


def _windows_of(rule: Rule, profile: Profile) -> set[int]:
    """The windows a status under this rule shows counts of."""
    days = {*COUNT_WINDOWS.values()}
    days |= {counted.cap.window_days for counted in caps_of(rule, profile)}
    days |= {target.window_days for target in rule.targets}
    return days


def _cap_frees(caps: list[CapUse]) -> list[datetime]:
    return [c.state.frees_at for c in caps if c.reached and c.state.frees_at is not None]


def _status_code(parts: _Parts, as_of: datetime) -> StatusCode:
    follow_up = parts.follow_up
    if parts.suppressed:
        return StatusCode.suppressed
    if parts.over:
        return StatusCode.over_contacted
    if follow_up.overdue_at is not None and as_of >= follow_up.overdue_at:
        return StatusCode.overdue
    if follow_up.counted_from is None or as_of >= follow_up.due_at:
        return StatusCode.due
    return StatusCode.on_track


def _timing_reason(follow_up: NextFollowUp, activity: Activity, as_of: datetime) -> Reason | None:
    if follow_up.counted_from is None:
        if activity.last_contact_at is not None:
            message = "Only automated contacts so far, which the rule does not count."
            return Reason("never_contacted", message)
        return Reason("never_contacted", "The customer has never been contacted.")
    if follow_up.overdue_at is not None and as_of >= follow_up.overdue_at:
        return Reason(
            "overdue", f"The follow-up was due {follow_up.due_at.isoformat()} and is overdue."
        )
    if as_of >= follow_up.due_at:
        return Reason("due", f"A follow-up is due since {follow_up.due_at.isoformat()}.")
    return None


def _reasons(
    policy: Policy, profile: Profile, activity: Activity, parts: _Parts, as_of: datetime
) -> Iterable[Reason]:
    yield from (c.reason for c in parts.suppressed)
    yield from (c.reason for c in parts.over)
    if not any(c.reason.code == "complaint_pause" for c in parts.suppressed):
        paused = parts.paused
        for channel in sorted(c for c in paused if not is_opted_out(profile, c)):
            yield complaint_pause_reason(channel, paused[channel], policy)
    if (timing := _timing_reason(parts.follow_up, activity, as_of)) is not None:
        yield timing
    for cap in (c for c in parts.caps if c.reached and not c.exceeded):
        state = cap.state
        message = (
            f"The cap of {state.max} outbound contacts in {state.window_days} days is reached."
        )
        yield Reason("cap_reached", message, state.frees_at)


def _targets_unmet(targets: Iterable[TargetState]) -> Iterable[Reason]:
    for target in targets:
        if not target.met:
            depth = f" of {target.depth} depth or deeper" if target.depth else ""
            message = f"{target.done} of {target.min} contacts{depth} in {target.window_days} days."
            yield Reason("target_unmet", message)


def open_channels(profile: Profile, rule: Rule) -> list[str]:
    """Channels the customer may be contacted on at all."""
    known = {
        *WELL_KNOWN_CHANNELS,
        *profile.preferred_channels,
        *([rule.channel] if rule.channel else []),
    }
    return sorted(c for c in known if not is_opted_out(profile, c))


def is_contactable(
    policy: Policy, profile: Profile, activity: Activity, parts: _Parts, as_of: datetime
) -> bool:
    """Would the owner's conflict check at ``as_of`` be allowed on some channel?"""
    if common_denials(profile, activity, parts.rule, parts.calendar, owner_of(profile), as_of):
        return False
    states = [c.state for c in parts.caps]
    return any(
        not channel_denials(policy, profile, states, parts.paused, c)
        for c in open_channels(profile, parts.rule)
    )
