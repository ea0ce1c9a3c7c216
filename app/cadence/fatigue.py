"""Signals that a customer is contacted too much, and pauses that suppress contact."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from app.cadence.types import (
    WELL_KNOWN_CHANNELS,
    Activity,
    Fatigue,
    Policy,
    Profile,
    Reason,
    Signal,
    SignalKind,
)
from app.cadence.windows import EMAILS_ENGAGED, EMAILS_SENT, Counter, Window

# Opting out of every channel has no end; lists compare with this instant.
FOREVER = datetime(9999, 12, 31, tzinfo=UTC)
MIN_EMAILS_FOR_A_RATE = 3
RECENT_DAYS, BEFORE_DAYS = 30, 60
# Emails younger than this are not judged yet: nobody opens mail the minute it is sent.
UNJUDGED_DAYS = 2
# Open rates look back 30 and 90 days, and leave out the last UNJUDGED_DAYS.
FATIGUE_WINDOWS = (UNJUDGED_DAYS, RECENT_DAYS, RECENT_DAYS + BEFORE_DAYS)
# How far back unsubscribes and complaints are read (a complaint pause may reach further).
SIGNAL_LOOKBACK_DAYS = 366
FALLING_RATIO = 0.5
COMPLAINT_DAYS = 90  # complaints_90d


def signals_before(activity: Activity, kind: SignalKind, as_of: datetime) -> list[Signal]:
    return sorted(
        (s for s in activity.signals if s.kind is kind and s.at <= as_of), key=lambda s: s.at
    )


def _rate(counter: Counter, window: Window) -> float | None:
    sent = counter.count(window, EMAILS_SENT)
    if sent < MIN_EMAILS_FOR_A_RATE:
        return None
    return round(counter.count(window, EMAILS_ENGAGED) / sent, 4)


def fatigue_of(activity: Activity, counter: Counter, as_of: datetime) -> Fatigue:
    unsubscribed = {s.channel for s in signals_before(activity, SignalKind.unsubscribed, as_of)}
    complaints = signals_before(activity, SignalKind.complained, as_of)
    return Fatigue(
        unsubscribed_channels=tuple(sorted(unsubscribed)),
        complaints_90d=sum(1 for s in complaints if s.at > as_of - timedelta(days=COMPLAINT_DAYS)),
        open_rate_recent=_rate(
            counter, Window(as_of - timedelta(days=UNJUDGED_DAYS), RECENT_DAYS - UNJUDGED_DAYS)
        ),
        open_rate_before=_rate(counter, Window(as_of - timedelta(days=RECENT_DAYS), BEFORE_DAYS)),
    )


def is_falling(fatigue: Fatigue) -> bool:
    recent, before = fatigue.open_rate_recent, fatigue.open_rate_before
    return recent is not None and before is not None and recent < FALLING_RATIO * before


def opted_out_of_all(profile: Profile) -> bool:
    opted = profile.opted_out_channels
    return "all" in opted or opted >= WELL_KNOWN_CHANNELS


def is_opted_out(profile: Profile, channel: str) -> bool:
    return "all" in profile.opted_out_channels or channel in profile.opted_out_channels


@dataclass(frozen=True, slots=True)
class Condition:
    """A reason that holds now, and until when (None: unknown, recheck later)."""

    reason: Reason
    until: datetime | None


def complaint_pauses(policy: Policy, activity: Activity, as_of: datetime) -> dict[str, datetime]:
    """Each channel a complaint pauses at ``as_of``, with the end of its pause."""
    pause = timedelta(days=policy.complaint_pause_days)
    ends: dict[str, datetime] = {}
    for signal in signals_before(activity, SignalKind.complained, as_of):
        if signal.at + pause > as_of:
            ends[signal.channel] = signal.at + pause  # signals come oldest first
    return ends


def complaint_pause_reason(channel: str, end: datetime, policy: Policy) -> Reason:
    message = (
        f"The customer complained about {channel}; {channel} pauses for"
        f" {policy.complaint_pause_days} days."
    )
    return Reason("complaint_pause", message, end)


def reopens_at(profile: Profile, paused: dict[str, datetime]) -> datetime | None:
    """When every well-known channel is opted out or paused by a complaint: when the first
    pause ends (None if some channel is open)."""
    if not paused:
        return None
    open_channels = [c for c in WELL_KNOWN_CHANNELS if not is_opted_out(profile, c)]
    if any(c not in paused for c in open_channels):
        return None
    return min(paused[c] for c in open_channels) if open_channels else None


def suppressions(
    policy: Policy, profile: Profile, activity: Activity, as_of: datetime
) -> list[Condition]:
    found: list[Condition] = []
    if opted_out_of_all(profile):
        found.append(
            Condition(Reason("opted_out_all", "The customer opted out of every channel."), FOREVER)
        )
    if profile.paused_until is not None and profile.paused_until > as_of:
        until = profile.paused_until
        found.append(
            Condition(
                Reason("paused", "Contact is paused at the customer's request.", until), until
            )
        )
    closed = reopens_at(profile, complaint_pauses(policy, activity, as_of))
    if closed is not None and not opted_out_of_all(profile):
        message = "The customer complained; every channel left is paused."
        found.append(Condition(Reason("complaint_pause", message, closed), closed))
    return found


def recent_signal(
    kind: SignalKind, code: str, policy: Policy, activity: Activity, as_of: datetime
) -> Condition | None:
    signals = signals_before(activity, kind, as_of)
    if not signals or signals[-1].at <= as_of - timedelta(days=policy.fatigue_days):
        return None
    last = signals[-1]
    until = last.at + timedelta(days=policy.fatigue_days)
    verb = "unsubscribed from" if kind is SignalKind.unsubscribed else "complained about"
    message = f"The customer {verb} {last.channel} within {policy.fatigue_days} days."
    return Condition(Reason(code, message, until), until)
