"""Which rule applies: match lists, stage-age bounds, first match wins, the catch-all."""

from datetime import timedelta
from typing import Any

import pytest

from app.cadence import Activity, Cap, Match, Target, evaluate, window_days_needed
from app.cadence.rules import (
    applicable_rule,
    candidate_rules,
    matches,
    next_rule_change,
    ordinal_limit,
    stage_age_days,
)
from tests.unit.cadence import (
    CREATED,
    activity_from,
    inb,
    make_policy,
    make_profile,
    make_rule,
    out,
    utc,
)

AS_OF = utc(2026, 3, 1)


def fs(*values: str) -> frozenset[str]:
    return frozenset(values)


@pytest.mark.parametrize(
    ("match", "profile_fields", "expected"),
    [
        (Match(), {}, True),
        (Match(segment=fs("strategic", "high_value")), {"segment": "high_value"}, True),
        (Match(segment=fs("strategic")), {"segment": "standard"}, False),
        (Match(segment=fs("strategic")), {}, False),  # no segment matches no list
        (Match(stage=fs("lead")), {"stage": "lead"}, True),
        (Match(market=fs("b2c")), {"market": "b2b"}, False),
        (Match(industry=fs("fmcg")), {"industry": "fmcg"}, True),
        # every listed key must hold
        (Match(stage=fs("lead"), industry=fs("fmcg")), {"stage": "lead"}, False),
        (
            Match(stage=fs("lead"), industry=fs("fmcg")),
            {"stage": "lead", "industry": "fmcg"},
            True,
        ),
        # stage age: lt is strict, gte inclusive (stage entered 1 January, as_of 1 March)
        (Match(stage_age_days_lt=60), {}, True),  # 59 days
        (Match(stage_age_days_lt=59), {}, False),  # exactly 59 days: not < 59
        (Match(stage_age_days_gte=59), {}, True),  # exactly 59 days: >= 59
        (Match(stage_age_days_gte=60), {}, False),
        (Match(stage_age_days_gte=30, stage_age_days_lt=60), {}, True),
        (
            Match(stage_age_days_lt=59),
            {"stage_entered_at": CREATED + timedelta(microseconds=1)},
            True,  # a moment short of 59 days
        ),
    ],
)
def test_matches(match: Match, profile_fields: dict[str, Any], expected: bool) -> None:
    assert matches(match, make_profile(**profile_fields), AS_OF) is expected


def test_stage_age_is_in_fractional_days() -> None:
    profile = make_profile(stage_entered_at=utc(2026, 2, 28, 12))
    assert stage_age_days(profile, AS_OF) == 0.5


POLICY = make_policy(
    make_rule("young_leads", Match(stage=fs("lead"), stage_age_days_lt=14)),
    make_rule("leads", Match(stage=fs("lead"))),
    make_rule("fmcg_leads", Match(stage=fs("lead"), industry=fs("fmcg"))),  # shadowed
    make_rule("veterans", Match(stage_age_days_gte=365)),
    make_rule("everyone", Match()),
)


@pytest.mark.parametrize(
    ("profile_fields", "expected"),
    [
        ({"stage": "lead", "stage_entered_at": utc(2026, 2, 20)}, "young_leads"),
        ({"stage": "lead", "stage_entered_at": utc(2026, 2, 15)}, "leads"),  # 14 days exactly
        ({"stage": "lead", "industry": "fmcg"}, "leads"),  # first match wins
        ({"stage": "customer", "stage_entered_at": utc(2025, 3, 1)}, "veterans"),
        ({"stage": "customer"}, "everyone"),
        ({}, "everyone"),
    ],
)
def test_first_match_wins(profile_fields: dict[str, Any], expected: str) -> None:
    profile = make_profile(**profile_fields)
    assert applicable_rule(POLICY, profile, AS_OF).name == expected
    assert evaluate(POLICY, profile, Activity(), AS_OF).rule == expected


def test_a_policy_without_a_catch_all_is_refused() -> None:
    policy = make_policy(make_rule("leads", Match(stage=fs("lead"))))
    with pytest.raises(ValueError, match="catch-all"):
        applicable_rule(policy, make_profile(stage="customer"), AS_OF)


def test_the_catch_all_is_an_empty_match() -> None:
    assert Match().is_catch_all
    assert not Match(stage=fs("lead")).is_catch_all
    assert not Match(stage_age_days_lt=1).is_catch_all


def test_next_rule_change_is_the_next_stage_age_threshold() -> None:
    profile = make_profile(stage="lead", stage_entered_at=utc(2026, 2, 20))
    assert next_rule_change(POLICY, profile, AS_OF) == utc(2026, 3, 6)  # 14 days
    assert next_rule_change(POLICY, profile, utc(2026, 3, 6)) == utc(2027, 2, 20)  # 365 days
    assert next_rule_change(POLICY, profile, utc(2027, 2, 20)) is None
    assert next_rule_change(make_policy(), profile, AS_OF) is None


ORDINAL = make_policy(
    make_rule("first_call", Match(stage=fs("lead"), outbound_in_stage_lt=1), follow_up_days=1,
              overdue_after_days=2),
    make_rule("second_call", Match(stage=fs("lead"), outbound_in_stage_lt=2), follow_up_days=3,
              overdue_after_days=5, caps=(Cap(3, 1),)),
    make_rule("veteran_lead", Match(stage=fs("lead"), outbound_in_stage_gte=5),
              targets=(Target(45, 1),)),
    make_rule("leads", Match(stage=fs("lead")), caps=(Cap(14, 3),)),
    make_rule("everyone", Match()),
)  # fmt: skip


@pytest.mark.parametrize(
    ("outbound", "expected"),
    [(0, "first_call"), (1, "second_call"), (2, "leads"), (4, "leads"), (5, "veteran_lead")],
)
def test_rules_by_contact_ordinal(outbound: int, expected: str) -> None:
    """lt is strict, gte inclusive, as for stage ages."""
    lead = make_profile(stage="lead")
    assert applicable_rule(ORDINAL, lead, AS_OF, outbound).name == expected
    assert applicable_rule(ORDINAL, make_profile(), AS_OF, outbound).name == "everyone"


def test_the_ordinal_counts_outbound_personal_contacts_since_the_stage_began() -> None:
    """The store counts; the engine takes the count from the activity."""
    lead = make_profile(stage="lead", stage_entered_at=utc(2026, 2, 1))
    contacts = [out(utc(2026, 2, 10)), inb(utc(2026, 2, 11))]
    status = evaluate(ORDINAL, lead, activity_from(contacts, outbound_in_stage=1), AS_OF)
    assert status.rule == "second_call"
    assert status.next_follow_up.due_at == utc(2026, 2, 14)  # 3 days after the inbound


def test_candidate_rules_are_those_the_ordinal_may_pick() -> None:
    lead = make_profile(stage="lead")
    names = [r.name for r in candidate_rules(ORDINAL, lead, AS_OF)]
    assert names == ["first_call", "second_call", "veteran_lead", "leads"]
    assert [r.name for r in candidate_rules(ORDINAL, make_profile(), AS_OF)] == ["everyone"]
    # the store reads the windows of every candidate
    assert {3, 14, 45} <= window_days_needed(ORDINAL, lead, AS_OF)
    assert not {3, 14, 45} & window_days_needed(ORDINAL, make_profile(), AS_OF)


def test_the_ordinal_limit_is_the_largest_threshold() -> None:
    assert ordinal_limit(ORDINAL) == 5
    assert ordinal_limit(POLICY) == 0
