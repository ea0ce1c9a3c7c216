"""The built-in policy a new tenant starts with: the domain brief's cadence table.

Each rule names the brief's row it encodes, and each is the first match for the customers
that row describes (a test proves it). Where the sources disagree the brief decides:
industry rules before market rules, a new prospect's fast start before the slower lead
cycle, quarterly for loyal customers and monthly for core (high-value) ones. Dormant and
lost customers come first, on a slow win-back cadence, so a lapsed account is never chased
harder than a loyal one. RFM tiers come after the stages that set a pace of their own (a
sale under way, onboarding): sleeping valuable customers are woken up fortnightly, star
customers get the core customers' monthly deep conversation. The default keeps no
business-day calendar (every instant counts) so that dates are plain; a tenant sets its own.
"""

from app.cadence.types import Cap, Match, Policy, Rule, Target

PROSPECT_STAGES = frozenset({"lead", "prospect"})
AFTER_THE_SALE = frozenset({"customer", "loyal"})


def _stages(*names: str) -> frozenset[str]:
    return frozenset(names)


DEFAULT_RULES = (
    Rule(
        name="win_back",
        match=Match(stage=_stages("dormant", "lost")),
        follow_up_days=90, overdue_after_days=180, channel="email",
        source="triggers: long-inactive customers get a win-back plan (slow: never faster"
        " than the quarterly cadence of loyal customers)",
    ),
    Rule(
        name="second_contact",
        match=Match(stage=PROSPECT_STAGES, outbound_in_stage_lt=2),
        follow_up_days=3, overdue_after_days=5, channel="phone", count_automated=False,
        source="new prospect: second contact within 3 days of the first",
    ),
    Rule(
        name="prospect_fmcg",
        match=Match(stage=PROSPECT_STAGES, industry=frozenset({"fmcg"})),
        follow_up_days=3, overdue_after_days=5, min_gap_hours=24, channel="phone",
        count_automated=False, caps=(Cap(7, 3),), targets=(Target(7, 2),),
        source="prospect, industry fast-moving consumer goods: 2-3 contacts a week",
    ),
    Rule(
        name="prospect_industrial",
        match=Match(stage=PROSPECT_STAGES, industry=frozenset({"industrial"})),
        follow_up_days=15, overdue_after_days=30, channel="meeting",
        count_automated=False, caps=(Cap(30, 2),), targets=(Target(30, 1),),
        source="prospect, industry industrial goods: 1-2 contacts a month",
    ),
    Rule(
        name="prospect_b2c",
        match=Match(stage=PROSPECT_STAGES, market=frozenset({"b2c"})),
        follow_up_days=21, overdue_after_days=28, channel="email",
        source="B2C prospect, ordinary consumer goods: every 3-4 weeks",
    ),
    Rule(
        name="new_prospect",
        match=Match(stage=PROSPECT_STAGES, stage_age_days_lt=14),
        follow_up_days=3, overdue_after_days=5, channel="phone", count_automated=False,
        targets=(Target(14, 2),),
        source="new prospect: 2-3 quality interactions in the first 2 weeks; prospect (any):"
        " follow-up cycle 3-5 days",
    ),
    Rule(
        name="lead_generation",
        match=Match(stage=PROSPECT_STAGES),
        follow_up_days=7, overdue_after_days=10, channel="email",
        source="lead generation (first contacts): every 7-10 days, to confirm interest",
    ),
    Rule(
        name="nurturing_first_month",
        match=Match(stage=_stages("nurturing"), stage_age_days_lt=30),
        follow_up_days=7, overdue_after_days=14, channel="email", targets=(Target(30, 4),),
        source="lead nurturing: about weekly value content; prospect in nurturing (KPI):"
        " 4 multi-channel touches in the first month",
    ),
    Rule(
        name="nurturing",
        match=Match(stage=_stages("nurturing")),
        follow_up_days=7, overdue_after_days=14, channel="email", targets=(Target(30, 2),),
        source="prospect in nurturing (KPI): then 2 a month",
    ),
    Rule(
        name="opportunity",
        match=Match(stage=_stages("opportunity", "intent")),
        follow_up_days=5, overdue_after_days=7, min_gap_hours=24, channel="meeting",
        count_automated=False, caps=(Cap(7, 2),),
        source="intent / opportunity: 1-2 a week; cycle 5-7 days; face-to-face meetings and"
        " online demos",
    ),
    Rule(
        name="negotiation",
        match=Match(stage=_stages("negotiation", "evaluation")),
        follow_up_days=3, overdue_after_days=5, min_gap_hours=24, channel="meeting",
        count_automated=False,
        source="evaluation or negotiation: every 3-5 days",
    ),
    Rule(
        name="onboarding",
        match=Match(stage=_stages("customer"), stage_age_days_lt=30),
        follow_up_days=7, overdue_after_days=10, channel="phone", targets=(Target(30, 4),),
        source="closed, first 30 days after signing (onboarding): once a week; care calls and"
        " after-sales visits",
    ),
    Rule(
        name="onboarding_taper",
        match=Match(stage=_stages("customer"), stage_age_days_lt=90),
        follow_up_days=14, overdue_after_days=21, channel="phone",
        source="closed, first 30 days after signing (onboarding): then decreasing to monthly"
        " (cycle 7-30 days): fortnightly to day 90",
    ),
    Rule(
        name="sleeping_valuable",
        match=Match(rfm_segment=frozenset({"cant_lose"})),
        follow_up_days=14, overdue_after_days=21, channel="phone",
        targets=(Target(30, 1, "value"),),
        source="RFM: high F and M but low R: sleeping valuable customers, to be woken up (every"
        " 2 weeks, with something of value, until they buy again)",
    ),
    Rule(
        name="strategic_account",
        match=Match(segment=frozenset({"strategic"})),
        follow_up_days=14, overdue_after_days=21, channel="meeting",
        targets=(Target(30, 1, "deep"), Target(14, 1, "value")),
        source="strategic (key account): at least 1 deep business conversation a month, value"
        " sharing every 2 weeks",
    ),
    Rule(
        name="high_value_b2b",
        match=Match(
            segment=frozenset({"high_value"}), market=frozenset({"b2b"}), stage=AFTER_THE_SALE
        ),
        follow_up_days=10, overdue_after_days=14, channel="meeting",
        targets=(Target(30, 1, "deep"),),
        source="high-value B2B: about every 10 days; core (high-value) existing customer: a"
        " deep conversation monthly",
    ),
    Rule(
        name="star_customer",
        match=Match(rfm_segment=frozenset({"champions"})),
        follow_up_days=30, overdue_after_days=40, channel="visit",
        targets=(Target(30, 1, "deep"),),
        source="RFM: high R, F and M: star customers, best resources (as core customers: a"
        " deep conversation monthly)",
    ),
    Rule(
        name="core_customer",
        match=Match(segment=frozenset({"high_value"}), stage=AFTER_THE_SALE),
        follow_up_days=30, overdue_after_days=40, channel="visit", targets=(Target(30, 1, "deep"),),
        source="core (high-value) existing customer: a deep conversation monthly",
    ),
    Rule(
        name="loyal",
        match=Match(stage=_stages("loyal")),
        follow_up_days=90, overdue_after_days=120, channel="event",
        source="long-term / loyal: 1-2 a quarter (cycle 90 days); VIP salons and holiday"
        " greetings",
    ),
    Rule(
        name="existing_customer",
        match=Match(stage=_stages("customer")),
        follow_up_days=30, overdue_after_days=90, channel="phone",
        source="ordinary existing customer: monthly product update, quarterly care",
    ),
    Rule(
        name="catch_all",
        match=Match(),
        follow_up_days=30, overdue_after_days=60, channel="email",
        source="long-term relationship / maintenance: monthly",
    ),
)  # fmt: skip

DEFAULT_POLICY = Policy(
    rules=DEFAULT_RULES,
    version=0,
    segment_weights={"strategic": 3, "high_value": 2},
)
