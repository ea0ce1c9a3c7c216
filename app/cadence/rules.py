"""Which rule of a policy applies to a customer at an instant."""

from datetime import datetime, timedelta

from app.cadence.rfm import OUTSIDE
from app.cadence.types import Match, Policy, Profile, Rule

DAY = timedelta(days=1)


def stage_age_days(profile: Profile, as_of: datetime) -> float:
    return (as_of - profile.stage_entered_at) / DAY


def _in(allowed: frozenset[str] | None, value: str | None) -> bool:
    return allowed is None or value in allowed


def _below(limit: float | None, value: float) -> bool:
    return limit is None or value < limit


def _at_least(limit: float | None, value: float) -> bool:
    return limit is None or value >= limit


def matches_profile(match: Match, profile: Profile, as_of: datetime) -> bool:
    """Every listed attribute is one of its values and the stage age is in range (the
    contact ordinal aside)."""
    age = stage_age_days(profile, as_of)
    return (
        _in(match.segment, profile.segment)
        and _in(match.stage, profile.stage)
        and _in(match.market, profile.market)
        and _in(match.industry, profile.industry)
        and _in(match.rfm_segment, profile.rfm_segment or OUTSIDE)
        and _below(match.stage_age_days_lt, age)
        and _at_least(match.stage_age_days_gte, age)
    )


def matches(match: Match, profile: Profile, as_of: datetime, outbound_in_stage: int = 0) -> bool:
    """A rule's match holds, the number of outbound contacts in the stage included."""
    return (
        matches_profile(match, profile, as_of)
        and _below(match.outbound_in_stage_lt, outbound_in_stage)
        and _at_least(match.outbound_in_stage_gte, outbound_in_stage)
    )


def applicable_rule(
    policy: Policy, profile: Profile, as_of: datetime, outbound_in_stage: int = 0
) -> Rule:
    """The first rule whose match holds; a valid policy ends with a catch-all."""
    for rule in policy.rules:
        if matches(rule.match, profile, as_of, outbound_in_stage):
            return rule
    raise ValueError("the policy has no catch-all rule")


def _counts_ordinal(match: Match) -> bool:
    return match.outbound_in_stage_lt is not None or match.outbound_in_stage_gte is not None


def candidate_rules(policy: Policy, profile: Profile, as_of: datetime) -> list[Rule]:
    """The rules that may apply before the contact ordinal is known: those matching the
    profile, up to the first that does not depend on the ordinal."""
    found = []
    for rule in policy.rules:
        if matches_profile(rule.match, profile, as_of):
            found.append(rule)
            if not _counts_ordinal(rule.match):
                break
    return found


def ordinal_limit(policy: Policy) -> int:
    """How far the store must count a customer's outbound contacts in its stage: past every
    threshold a rule names, and no further."""
    return max(
        (
            limit
            for rule in policy.rules
            for limit in (rule.match.outbound_in_stage_lt, rule.match.outbound_in_stage_gte)
            if limit is not None
        ),
        default=0,
    )


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
