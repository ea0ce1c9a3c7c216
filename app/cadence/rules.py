"""Which rule of a policy applies to a customer at an instant."""

from datetime import datetime, timedelta

from app.cadence.types import Match, Policy, Profile, Rule

DAY = timedelta(days=1)


def stage_age_days(profile: Profile, as_of: datetime) -> float:
    return (as_of - profile.stage_entered_at) / DAY


def _in(allowed: frozenset[str] | None, value: str | None) -> bool:
    return allowed is None or value in allowed


def matches(match: Match, profile: Profile, as_of: datetime) -> bool:
    """A rule's match holds: every listed attribute is one of its values, the stage age in range."""
    age = stage_age_days(profile, as_of)
    return (
        _in(match.segment, profile.segment)
        and _in(match.stage, profile.stage)
        and _in(match.market, profile.market)
        and _in(match.industry, profile.industry)
        and (match.stage_age_days_lt is None or age < match.stage_age_days_lt)
        and (match.stage_age_days_gte is None or age >= match.stage_age_days_gte)
    )


def applicable_rule(policy: Policy, profile: Profile, as_of: datetime) -> Rule:
    """The first rule whose match holds; a valid policy ends with a catch-all."""
    for rule in policy.rules:
        if matches(rule.match, profile, as_of):
            return rule
    raise ValueError("the policy has no catch-all rule")


def next_rule_change(policy: Policy, profile: Profile, as_of: datetime) -> datetime | None:
    """The next instant the stage age crosses a threshold some rule names."""
    thresholds = {
        days
        for rule in policy.rules
        for days in (rule.match.stage_age_days_lt, rule.match.stage_age_days_gte)
        if days is not None
    }
    crossings = [profile.stage_entered_at + days * DAY for days in thresholds]
    return min((t for t in crossings if t > as_of), default=None)
