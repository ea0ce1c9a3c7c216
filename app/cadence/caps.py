"""Caps (at most N outbound contacts per window) and targets (at least N contacts per window)."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from app.cadence.types import (
    Activity,
    Cap,
    CapState,
    DayCount,
    Profile,
    Rule,
    Target,
    TargetState,
)
from app.cadence.windows import Counter, Selector, Window, days_of, span_of

PROFILE_CAP_DAYS = 30


@dataclass(frozen=True, slots=True)
class CountedCap:
    """A cap, and whether it counts automated contacts."""

    cap: Cap
    automated: bool


def caps_of(rule: Rule, profile: Profile) -> tuple[CountedCap, ...]:
    """The rule's caps, plus the customer's own ``max_contacts_per_30d``: what the customer
    receives, so it counts automated contacts whatever the rule says."""
    extra = profile.max_contacts_per_30d
    own = (CountedCap(Cap(PROFILE_CAP_DAYS, extra), True),) if extra is not None else ()
    return (*(CountedCap(cap, rule.count_automated) for cap in rule.caps), *own)


@dataclass(frozen=True, slots=True)
class CapUse:
    state: CapState
    exceeded_until: datetime | None  # when `used` falls back to `max`, if exceeded

    @property
    def reached(self) -> bool:
        return self.state.used >= self.state.max

    @property
    def exceeded(self) -> bool:
        return self.state.used > self.state.max


def _open_reservations(activity: Activity, cap: Cap, as_of: datetime) -> list[datetime]:
    """Expiry of each reservation open at ``as_of`` that this cap counts: from the moment
    it was made, whatever instant it reserves."""
    return [
        r.expires_at
        for r in activity.reservations
        if r.created_at <= as_of < r.expires_at
        and (cap.channels is None or r.channel in cap.channels)
    ]


def cap_use(counted: CountedCap, counter: Counter, as_of: datetime) -> CapUse:
    cap = counted.cap
    window = Window(as_of, cap.window_days)
    selector = Selector(
        outbound_only=True, channels=cap.channels, include_automated=counted.automated
    )
    reservations = _open_reservations(counter.activity, cap, as_of)
    used = counter.count(window, selector) + len(reservations)
    leaving = counter.leave_times(window, selector) + [(t, None) for t in reservations]
    leaving.sort(key=lambda item: item[0])
    frees_at = _nth_leave(leaving, used - cap.max + 1, counter) if used >= cap.max else None
    exceeded_until = _nth_leave(leaving, used - cap.max, counter) if used > cap.max else None
    state = CapState(
        window_days=cap.window_days, max=cap.max, used=used, remaining=max(0, cap.max - used),
        frees_at=frees_at, channels=cap.channels,
    )  # fmt: skip
    return CapUse(state, exceeded_until)


def _nth_leave(
    leaving: list[tuple[datetime, DayCount | None]], n: int, counter: Counter
) -> datetime | None:
    """When the n-th counted contact leaves the window; None if it never does (max 0) or
    if that falls inside a bucket whose finer grain the counter must ask for."""
    if n < 1 or n > len(leaving):
        return None
    at, bucket = leaving[n - 1]
    blurred = [b for t, b in leaving if b is not None and t <= at < t + _length(b)]
    if bucket is not None or blurred:
        for b in [bucket, *blurred]:
            if b is not None:
                counter.missing_days.update(days_of(*span_of(b)))
        return None
    return at


def _length(bucket: DayCount) -> timedelta:
    after, until = span_of(bucket)
    return until - after


def target_state(target: Target, counter: Counter, as_of: datetime) -> TargetState:
    done = counter.count(Window(as_of, target.window_days), Selector(min_depth=target.depth))
    return TargetState(
        window_days=target.window_days, min=target.min, done=done, met=done >= target.min,
        depth=target.depth,
    )  # fmt: skip
