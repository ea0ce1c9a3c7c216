"""The built-in policy against the domain brief's cadence table."""

from datetime import timedelta
from typing import Any

import pytest

from app.cadence import DEFAULT_POLICY, Rule, Target, evaluate
from app.cadence.rules import applicable_rule
from tests.unit.cadence import activity_from, make_profile, out, utc

AS_OF = utc(2026, 11, 20)
RULES = {rule.name: rule for rule in DEFAULT_POLICY.rules}

# The customer column of the brief's "Recommended cadences" table, and its triggers.
BRIEF_ROWS = (
    "new prospect",
    "prospect, industry fast-moving consumer goods",
    "prospect, industry industrial goods",
    "prospect (any)",
    "lead generation (first contacts)",
    "lead nurturing",
    "intent / opportunity",
    "evaluation or negotiation",
    "closed, first 30 days after signing (onboarding)",
    "long-term / loyal",
    "long-term relationship / maintenance",
    "high-value B2B",
    "B2C prospect, ordinary consumer goods",
    "ordinary existing customer",
    "core (high-value) existing customer",
    "strategic (key account)",
    "prospect in nurturing (KPI)",
    "triggers: long-inactive customers get a win-back plan",
    "RFM: high R, F and M: star customers",
    "RFM: high F and M but low R: sleeping valuable customers",
)


def rule_for(days_in_stage: float = 100, outbound_in_stage: int = 5, **fields: Any) -> Rule:
    profile = make_profile(stage_entered_at=AS_OF - timedelta(days=days_in_stage), **fields)
    return applicable_rule(DEFAULT_POLICY, profile, AS_OF, outbound_in_stage)


# (profile fields, days in stage, outbound contacts in the stage, rule, its cycle in days)
CASES = [
    ({"stage": "negotiation"}, 100, 5, "negotiation", (3, 5)),
    ({"stage": "evaluation"}, 2, 0, "negotiation", (3, 5)),
    ({"stage": "negotiation", "segment": "strategic"}, 100, 5, "negotiation", (3, 5)),
    # a first contact is followed by a second within 3 days, whatever the stage's age
    ({"stage": "lead"}, 0, 0, "second_contact", (3, 3)),
    ({"stage": "lead"}, 12, 1, "second_contact", (3, 3)),
    ({"stage": "prospect", "industry": "industrial"}, 1, 1, "second_contact", (3, 3)),
    # then industry rules before market rules and before the new prospect's fast start
    ({"stage": "lead", "industry": "fmcg"}, 100, 2, "prospect_fmcg", (2, 4)),
    ({"stage": "lead", "industry": "fmcg", "market": "b2c"}, 1, 2, "prospect_fmcg", (2, 4)),
    ({"stage": "prospect", "industry": "industrial"}, 1, 2, "prospect_industrial", (15, 30)),
    ({"stage": "lead", "market": "b2c"}, 100, 2, "prospect_b2c", (21, 28)),
    # a young lead goes on fast (3-5 days), then the lead cycle (7-10 days)
    ({"stage": "lead"}, 0, 2, "new_prospect", (3, 5)),
    ({"stage": "lead"}, 13.99, 3, "new_prospect", (3, 5)),
    ({"stage": "lead"}, 14, 2, "lead_generation", (7, 10)),
    ({"stage": "prospect", "market": "b2b"}, 30, 4, "lead_generation", (7, 10)),
    ({"stage": "nurturing"}, 10, 0, "nurturing_first_month", (7, 7)),
    ({"stage": "nurturing"}, 30, 0, "nurturing", (7, 7)),
    ({"stage": "opportunity"}, 3, 0, "opportunity", (5, 7)),
    ({"stage": "intent"}, 3, 1, "opportunity", (5, 7)),
    # closed: weekly for the first 30 days, even for key accounts, fortnightly to day 90
    ({"stage": "customer"}, 29.9, 0, "onboarding", (7, 7)),
    ({"stage": "customer", "segment": "strategic"}, 5, 0, "onboarding", (7, 7)),
    ({"stage": "customer"}, 30, 0, "onboarding_taper", (14, 14)),
    ({"stage": "customer", "segment": "high_value", "market": "b2b"}, 89, 0,
     "onboarding_taper", (14, 14)),
    ({"stage": "customer"}, 90, 0, "existing_customer", (30, 90)),
    ({"stage": "customer", "segment": "strategic"}, 90, 0, "strategic_account", (14, 30)),
    ({"stage": "loyal", "segment": "strategic"}, 400, 0, "strategic_account", (14, 30)),
    ({"segment": "strategic"}, 400, 0, "strategic_account", (14, 30)),
    # high-value B2B after the sale: about every 10 days
    ({"stage": "customer", "segment": "high_value", "market": "b2b"}, 90, 0,
     "high_value_b2b", (10, 10)),
    ({"stage": "loyal", "segment": "high_value", "market": "b2b"}, 400, 0,
     "high_value_b2b", (10, 10)),
    # quarterly for loyal customers, monthly for core (high-value) ones
    ({"stage": "loyal"}, 400, 0, "loyal", (90, 90)),
    ({"stage": "loyal", "segment": "high_value"}, 400, 0, "core_customer", (30, 30)),
    ({"stage": "customer", "segment": "high_value", "market": "b2c"}, 90, 0,
     "core_customer", (30, 30)),
    # RFM tiers: sleeping valuable customers are woken up, star customers get the core
    # customers' monthly deep conversation; a pace of the stage (a sale, onboarding) first
    ({"stage": "customer", "rfm_segment": "cant_lose"}, 400, 0, "sleeping_valuable", (14, 14)),
    ({"rfm_segment": "cant_lose", "segment": "strategic"}, 400, 0,
     "sleeping_valuable", (14, 14)),
    ({"stage": "loyal", "rfm_segment": "champions"}, 400, 0, "star_customer", (30, 30)),
    ({"stage": "customer", "rfm_segment": "champions"}, 90, 0, "star_customer", (30, 30)),
    ({"stage": "customer", "rfm_segment": "champions"}, 10, 0, "onboarding", (7, 7)),
    ({"stage": "negotiation", "rfm_segment": "cant_lose"}, 10, 5, "negotiation", (3, 5)),
    ({"stage": "customer", "segment": "strategic", "rfm_segment": "champions"}, 90, 0,
     "strategic_account", (14, 30)),
    ({"stage": "dormant", "rfm_segment": "cant_lose"}, 60, 0, "win_back", (90, 90)),
    ({"stage": "loyal", "rfm_segment": "at_risk"}, 400, 0, "loyal", (90, 90)),
    # lapsed accounts are won back slowly, never chased harder than loyal ones
    ({"stage": "dormant", "segment": "high_value", "market": "b2b"}, 60, 0,
     "win_back", (90, 90)),
    ({"stage": "lost", "segment": "strategic"}, 60, 0, "win_back", (90, 90)),
    ({"stage": "dormant"}, 60, 0, "win_back", (90, 90)),
    ({}, 0, 0, "catch_all", (30, 30)),
    ({"segment": "high_value", "market": "b2b"}, 0, 0, "catch_all", (30, 30)),
]  # fmt: skip


@pytest.mark.parametrize(("fields", "days_in_stage", "outbound", "expected", "cycle"), CASES)
def test_the_default_rule_for(
    fields: dict[str, Any],
    days_in_stage: float,
    outbound: int,
    expected: str,
    cycle: tuple[int, int],
) -> None:
    rule = rule_for(days_in_stage, outbound, **fields)
    assert rule.name == expected
    low, high = cycle
    assert low <= rule.follow_up_days <= high
    assert rule.follow_up_days < rule.overdue_after_days


def test_every_default_rule_is_the_first_match_of_the_customers_of_its_brief_row() -> None:
    """Each rule of the built-in policy is reachable: some profile gets it, and that profile
    is one the rule's row of the brief describes (the cases above name it)."""
    reached = {expected for *_, expected, _ in CASES}
    assert reached == set(RULES), set(RULES) - reached
    for rule in DEFAULT_POLICY.rules:
        assert rule.source is not None
        assert rule.source.startswith(BRIEF_ROWS), (rule.name, rule.source)


def test_no_lapsed_customer_is_followed_up_faster_than_a_loyal_one() -> None:
    win_back = RULES["win_back"]
    active = [r for r in DEFAULT_POLICY.rules if r.name != "win_back"]
    assert win_back.follow_up_days >= max(r.follow_up_days for r in active)


def test_a_negotiation_rule_follows_up_in_3_to_5_days() -> None:
    negotiation = [r for r in DEFAULT_POLICY.rules if "negotiation" in (r.match.stage or ())]
    assert negotiation
    assert all(3 <= r.follow_up_days <= 5 for r in negotiation)


def test_key_accounts_have_deep_monthly_and_value_fortnightly_targets() -> None:
    deep_monthly, value_fortnightly = Target(30, 1, "deep"), Target(14, 1, "value")
    assert set(RULES["strategic_account"].targets) == {deep_monthly, value_fortnightly}
    assert Target(30, 1, "deep") in RULES["core_customer"].targets


def test_kpis_of_the_brief() -> None:
    assert RULES["nurturing_first_month"].targets == (Target(30, 4),)
    assert RULES["nurturing"].targets == (Target(30, 2),)
    fmcg = RULES["prospect_fmcg"]
    assert [(c.window_days, c.max) for c in fmcg.caps] == [(7, 3)]  # 2-3 a week
    assert [(c.window_days, c.max) for c in RULES["prospect_industrial"].caps] == [(30, 2)]
    assert [(c.window_days, c.max) for c in RULES["opportunity"].caps] == [(7, 2)]
    assert RULES["new_prospect"].targets == (Target(14, 2),)
    second = RULES["second_contact"]
    assert (second.match.outbound_in_stage_lt, second.follow_up_days) == (2, 3)


def test_the_default_policy_is_valid() -> None:
    rules = DEFAULT_POLICY.rules
    assert DEFAULT_POLICY.version == 0
    assert DEFAULT_POLICY.timezone == "UTC"
    assert rules[-1].match.is_catch_all
    assert not any(r.match.is_catch_all for r in rules[:-1])
    assert len(RULES) == len(rules)
    for rule in rules:
        assert 1 <= rule.follow_up_days < rule.overdue_after_days
        assert rule.min_gap_hours >= 0
        assert all(1 <= c.window_days <= 365 and c.max >= 0 for c in rule.caps)
        assert all(1 <= t.window_days <= 365 and t.min >= 1 for t in rule.targets)
    assert dict(DEFAULT_POLICY.segment_weights) == {"strategic": 3, "high_value": 2}


def test_a_negotiation_customer_under_the_default_policy() -> None:
    profile = make_profile(stage="negotiation", stage_entered_at=utc(2026, 11, 1))
    activity = activity_from([out(utc(2026, 11, 16, 9), "meeting")])
    status = evaluate(DEFAULT_POLICY, profile, activity, AS_OF)
    assert status.rule == "negotiation"
    assert status.status == "due"  # 4 days after a 3-day follow-up, overdue after 5
    assert status.next_follow_up.due_at == utc(2026, 11, 19, 9)
    assert status.next_follow_up.overdue_at == utc(2026, 11, 21, 9)
    assert status.next_follow_up.channel == "meeting"
    assert evaluate(DEFAULT_POLICY, profile, activity, utc(2026, 11, 21, 9)).status == "overdue"
