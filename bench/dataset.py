"""The benchmark's data set: who the customers are and a year of their touches, as COPY rows,
and the cadence policy the bench tenant runs under.

The layout puts the customers the benchmark probes at fixed places:

- ``c-000000`` .. : the giants, each with ``giant_touches`` touches in the last year, of which
  ``giant_recent_touches`` in the last 90 days (every window of the policy full, every cap
  exceeded);
- the probe: a customer of the same profile (and rule) as the giants with exactly
  ``probe_touches``;
- ``rep-small``: an owner of ``small_rep_customers`` customers;
- team ``mass-market``: ``team_customers`` customers (its reps own 250 each);
- ``rep-mid``: an owner of ``mid_rep_customers`` customers (the work-queue page's owner);
- everyone else: four more teams and a hundred reps.

Ordinary customers get the remaining touches with a skewed (log-normal) activity, over channels,
directions, kinds (contacts, engagements, purchases), actors and automation. Engagements carry
outcomes; a few are unsubscribes and complaints (not for the giants and the probe, so that both
are judged by the same rule and code path).
"""

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import accumulate
from typing import Any
from zoneinfo import ZoneInfo

YEAR_SECONDS = 365 * 86400
RECENT_DAYS = 90  # the giants' dense stretch: the policy's longest window
# How long before the seed's "now" a touch occurred, in seconds (from, to): any touch of the
# year; a giant's recent ones (none leaves the 90-day window during a run); its older ones.
ANY_AGE = (120, YEAR_SECONDS)
RECENT_AGE = (120, RECENT_DAYS * 86400 - 3600)
OLDER_AGE = (RECENT_DAYS * 86400, YEAR_SECONDS)
SMALL_REP = "rep-small"
BIG_TEAM = "mass-market"
MID_REP, MID_TEAM = "rep-mid", "south-sales"
OTHER_TEAMS = ["north-sales", "south-sales", "key-accounts", "service"]
CHANNELS = ["email", "phone", "im", "meeting", "visit", "sms", "webinar", "chat"]
CHANNEL_WEIGHTS = list(accumulate([40, 20, 15, 8, 5, 5, 4, 3]))
SEGMENTS = ["strategic", "high_value", "standard"]
SEGMENT_WEIGHTS = list(accumulate([5, 15, 80]))
STAGES = ["lead", "opportunity", "negotiation", "customer", "loyal", "nurturing", "dormant"]
INDUSTRIES = ["fmcg", "industrial", "software", "retail", None]
ZONES = [("Asia/Shanghai", "CN"), ("Europe/Berlin", "DE"), ("America/New_York", "US"), (None, None)]
ENGAGEMENTS = ["opened", "clicked", "replied", "bounced", "unsubscribed", "complained"]
ENGAGEMENT_WEIGHTS = list(accumulate([450, 200, 80, 262, 6, 2]))
QUIET_ENGAGEMENTS = 4  # the first four: no unsubscribes or complaints
PHONE_OUTCOMES = ["completed", "no_answer", "voicemail"]

TOUCH_COLUMNS = [
    "tenant_id", "id", "customer_id", "channel", "occurred_at", "kind", "direction", "outcome",
    "category", "actor_rep_id", "actor_team", "actor_partner_id", "automated", "depth", "amount",
    "source", "external_id", "ref_external_id", "campaign_id", "metadata", "received_at",
    "engaged_at",
]  # fmt: skip
CUSTOMER_COLUMNS = [
    "tenant_id", "customer_id", "name", "segment", "stage", "market", "industry", "owner_rep",
    "owner_team", "timezone", "country", "email", "preferences", "attributes", "created_at",
    "updated_at", "stage_entered_at",
]  # fmt: skip

# The bench tenant's cadence policy (bench/seed.py makes it the active version): six rules with
# caps and targets. The giants and the probe (standard b2b customers) fall under
# `b2b_customers`, whose 7-, 30- and 90-day caps the giants exceed many times over.
POLICY: dict[str, Any] = {
    "segment_weights": {"strategic": 3, "high_value": 2},
    "rules": [
        {
            "name": "dormant", "match": {"stage": ["dormant"]},
            "follow_up_days": 90, "overdue_after_days": 180, "channel": "email",
            "caps": [{"window_days": 30, "max": 2}],
        },
        {
            "name": "strategic", "match": {"segment": ["strategic"]},
            "follow_up_days": 14, "overdue_after_days": 21, "channel": "meeting",
            "caps": [{"window_days": 7, "max": 3}, {"window_days": 30, "max": 8}],
            "targets": [{"window_days": 30, "min": 1, "depth": "deep"},
                        {"window_days": 14, "min": 1, "depth": "value"}],
        },
        {
            "name": "pipeline", "match": {"stage": ["lead", "opportunity", "negotiation"]},
            "follow_up_days": 5, "overdue_after_days": 10, "min_gap_hours": 24,
            "channel": "phone", "count_automated": False,
            "caps": [{"window_days": 7, "max": 3}], "targets": [{"window_days": 14, "min": 2}],
        },
        {
            "name": "nurturing", "match": {"stage": ["nurturing"]},
            "follow_up_days": 7, "overdue_after_days": 14, "channel": "email",
            "caps": [{"window_days": 30, "max": 6, "channels": ["email"]}],
            "targets": [{"window_days": 30, "min": 4}],
        },
        {
            "name": "b2b_customers", "match": {"market": ["b2b"], "stage": ["customer", "loyal"]},
            "follow_up_days": 14, "overdue_after_days": 30, "channel": "phone",
            "caps": [{"window_days": 7, "max": 3}, {"window_days": 30, "max": 10},
                     {"window_days": 90, "max": 25}],
            "targets": [{"window_days": 30, "min": 2, "depth": "value"},
                        {"window_days": 90, "min": 1, "depth": "deep"}],
        },
        {
            "name": "catch_all", "match": {},
            "follow_up_days": 30, "overdue_after_days": 60, "channel": "email",
            "caps": [{"window_days": 30, "max": 8}], "targets": [{"window_days": 30, "min": 1}],
        },
    ],
}  # fmt: skip


def customer_id(index: int) -> str:
    return f"c-{index:06d}"


@dataclass(frozen=True, slots=True)
class Layout:
    """Sizes of the data set, and where its notable customers are."""

    customers: int = 60_000
    touches: int = 1_000_000
    giants: int = 2
    giant_touches: int = 100_000
    giant_recent_touches: int = 20_000  # of each giant's, in the last RECENT_DAYS days
    probe_touches: int = 10
    small_rep_customers: int = 50
    team_customers: int = 50_000
    mid_rep_customers: int = 5_000

    def __post_init__(self) -> None:
        special = (
            self.giants + 1 + self.small_rep_customers + self.team_customers
            + self.mid_rep_customers
        )  # fmt: skip
        if self.customers <= special:
            raise ValueError(f"need more than {special} customers for this layout")
        if self.ordinary_touches < 0:
            raise ValueError("fewer touches than the giants and the probe need")
        if not 0 <= self.giant_recent_touches <= self.giant_touches:
            raise ValueError("giant_recent_touches must be between 0 and giant_touches")

    @property
    def probe(self) -> int:
        return self.giants

    @property
    def small_rep_range(self) -> range:
        return range(self.probe + 1, self.probe + 1 + self.small_rep_customers)

    @property
    def team_range(self) -> range:
        start = self.small_rep_range.stop
        return range(start, start + self.team_customers)

    @property
    def mid_rep_range(self) -> range:
        start = self.team_range.stop
        return range(start, start + self.mid_rep_customers)

    @property
    def others_range(self) -> range:
        """Customers of no notable owner (the hundred reps of the four other teams)."""
        return range(self.mid_rep_range.stop, self.customers)

    @property
    def ordinary_range(self) -> range:
        """Customers that are neither giants nor the probe."""
        return range(self.probe + 1, self.customers)

    @property
    def ordinary_touches(self) -> int:
        return self.touches - self.giants * self.giant_touches - self.probe_touches

    def owner(self, index: int) -> tuple[str, str]:
        """(rep, team) owning a customer."""
        if index <= self.probe:
            return "rep-key", "key-accounts"
        if index in self.small_rep_range:
            return SMALL_REP, "north-sales"
        if index in self.team_range:
            return f"rep-m{(index - self.team_range.start) // 250:03d}", BIG_TEAM
        if index in self.mid_rep_range:
            return MID_REP, MID_TEAM
        return other_owner(index)


def other_owner(index: int) -> tuple[str, str]:
    """(rep, team) of a customer of ``Layout.others_range`` (bench/lua/put_profile.lua knows
    the same rule, so that a profile it sends keeps its owner)."""
    return f"rep-{index % 100:03d}", OTHER_TEAMS[index % len(OTHER_TEAMS)]


def customer_rows(
    tenant_id: uuid.UUID, layout: Layout, now: datetime, rng: random.Random
) -> Iterator[tuple[object, ...]]:
    for i in range(layout.customers):
        created = now - timedelta(days=366 + rng.randint(0, 60))
        rep, team = layout.owner(i)
        industry: str | None
        if i <= layout.probe:  # the giants and the probe share one profile and rule
            segment, stage, market, industry, (zone, country) = (
                "standard", "customer", "b2b", "software", ZONES[0],
            )  # fmt: skip
            prefs = "{}"
            entered = created
        else:
            segment = rng.choices(SEGMENTS, cum_weights=SEGMENT_WEIGHTS)[0]
            stage, market = rng.choice(STAGES), rng.choice(["b2b", "b2b", "b2c"])
            industry, (zone, country) = rng.choice(INDUSTRIES), rng.choice(ZONES)
            prefs = _preferences(rng)
            entered = now - timedelta(days=rng.randint(0, 400))
        yield (
            tenant_id, customer_id(i), f"Customer {i}", segment, stage, market, industry, rep,
            team, zone, country, f"{customer_id(i)}@example.com", prefs, "{}", created, created,
            max(created, entered),
        )  # fmt: skip


def _preferences(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.10:
        return '{"preferred_channels": ["phone"], "opted_out_channels": ["sms"]}'
    if r < 0.15:
        return '{"max_contacts_per_30d": 6}'
    if r < 0.18:
        return '{"quiet_hours": {"start": "20:00", "end": "08:00"}}'
    return "{}"


def touch_rows(
    tenant_id: uuid.UUID, layout: Layout, now: datetime, rng: random.Random
) -> Iterator[tuple[object, ...]]:
    """Every touch: the giants', the probe's, then the ordinary customers' (skewed)."""
    serial = 0
    for giant in range(layout.giants):
        for n in range(layout.giant_touches):
            serial += 1
            age = RECENT_AGE if n < layout.giant_recent_touches else OLDER_AGE
            yield _touch(tenant_id, layout, giant, serial, now, rng, quiet=True, age=age)
    for _ in range(layout.probe_touches):
        serial += 1
        yield _touch(tenant_id, layout, layout.probe, serial, now, rng, quiet=True)
    ordinary = layout.ordinary_range
    weights = list(accumulate(rng.lognormvariate(0, 1.0) for _ in ordinary))
    picks = rng.choices(ordinary, cum_weights=weights, k=layout.ordinary_touches)
    for index in picks:
        serial += 1
        yield _touch(tenant_id, layout, index, serial, now, rng, quiet=False)


def _touch(
    tenant_id: uuid.UUID,
    layout: Layout,
    index: int,
    serial: int,
    now: datetime,
    rng: random.Random,
    *,
    quiet: bool,
    age: tuple[int, int] = ANY_AGE,
) -> tuple[object, ...]:
    occurred = now - timedelta(seconds=rng.randint(*age))
    received = occurred + timedelta(seconds=rng.randint(1, 120))
    rep, team = layout.owner(index)
    r = rng.random()
    automated, amount = False, None
    engaged_at: datetime | None = None
    outcome: str | None = None
    depth: str | None = None
    direction = "outbound"
    if r < 0.83:
        kind, channel = "contact", rng.choices(CHANNELS, cum_weights=CHANNEL_WEIGHTS)[0]
        if rng.random() < 0.18:
            direction = "inbound"
        elif channel in ("email", "sms") and rng.random() < 0.5:
            automated = True
        if channel == "phone":
            outcome = rng.choice(PHONE_OUTCOMES)
        elif channel == "email" and direction == "outbound":
            outcome = "delivered"
            if rng.random() < 0.25:  # opened within a day
                engaged_at = occurred + timedelta(seconds=rng.randint(60, 86_400))
        if not automated:
            depth = rng.choice([None, "light", "value", "deep"])
        source = "esp" if automated else "crm"
    elif r < 0.97:
        kind, channel, source = "engagement", "email", "esp"
        outcomes = ENGAGEMENT_WEIGHTS[:QUIET_ENGAGEMENTS] if quiet else ENGAGEMENT_WEIGHTS
        outcome = rng.choices(ENGAGEMENTS[: len(outcomes)], cum_weights=outcomes)[0]
        automated = True
    else:
        kind, channel, source = "purchase", rng.choice(["web", "visit"]), "shop"
        amount = Decimal(rng.randint(100, 500_000)) / 100
    category, actor = _actor(rng, automated, rep, team)
    return (
        tenant_id, uuid.UUID(int=rng.getrandbits(128), version=4), customer_id(index), channel,
        occurred, kind, direction, outcome, category, *actor, automated, depth, amount, source,
        f"t{serial}", None, "spring-sale" if automated else None, "{}", received, engaged_at,
    )  # fmt: skip


def _actor(
    rng: random.Random, automated: bool, rep: str, team: str
) -> tuple[str, tuple[str | None, str | None, str | None]]:
    if automated:
        return "marketing", (None, "marketing", None)
    r = rng.random()
    if r < 0.03:
        return "partner", (None, None, f"dist-{rng.randint(1, 20):02d}")
    if r < 0.85:
        return "sales", (rep, team, None)
    other = rng.choice(OTHER_TEAMS)
    return rng.choice(["sales", "service"]), (f"rep-{rng.randint(0, 99):03d}", other, None)


# The zone the analytics reports cut periods in: the active policy's (POLICY names none, so
# the service's default, UTC).
REPORT_ZONE = ZoneInfo(POLICY.get("timezone", "UTC"))


def age_spans(layout: Layout) -> list[tuple[int, tuple[int, int]]]:
    """How many touches ``touch_rows`` spreads evenly over which ages (seconds before now)."""
    giants_older = layout.giant_touches - layout.giant_recent_touches
    return [
        (layout.giants * layout.giant_recent_touches, RECENT_AGE),
        (layout.giants * giants_older, OLDER_AGE),
        (layout.probe_touches, ANY_AGE),
        (layout.ordinary_touches, ANY_AGE),
    ]


def expected_touches(layout: Layout, now: datetime, since: datetime, until: datetime) -> float:
    """How many of the data set's touches occurred in [since, until), on average (the seed
    draws their instants uniformly within each span of ``age_spans``)."""
    total = 0.0
    for count, (youngest, oldest) in age_spans(layout):
        first, last = now - timedelta(seconds=oldest), now - timedelta(seconds=youngest)
        overlap = (min(last, until) - max(first, since)).total_seconds()
        if overlap > 0:
            total += count * overlap / (oldest - youngest)
    return total


def _quarter_start(year: int, quarter: int) -> datetime:
    year, quarter = year + quarter // 4, quarter % 4
    return datetime(year, 3 * quarter + 1, 1, tzinfo=REPORT_ZONE)


def busiest_quarter(layout: Layout, now: datetime) -> tuple[datetime, datetime]:
    """The calendar quarter (in ``REPORT_ZONE``) with the most touches among those wholly
    within the year of data before ``now`` (the seed's now, or a little later): [start, end).
    The giants' recent touches make the last 90 days denser or sparser than the rest, so which
    quarter that is depends on the layout."""
    oldest = now - timedelta(seconds=YEAR_SECONDS)
    local = oldest.astimezone(REPORT_ZONE)
    year, quarter = local.year, (local.month - 1) // 3
    quarters = []
    while (end := _quarter_start(year, quarter + 1)) <= now:
        start = _quarter_start(year, quarter)
        if start >= oldest:
            quarters.append((start, end))
        year, quarter = end.year, (end.month - 1) // 3
    return max(reversed(quarters), key=lambda q: expected_touches(layout, now, *q))
