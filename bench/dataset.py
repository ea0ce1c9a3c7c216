"""The benchmark's data set: who the customers are and a year of their touches, as COPY rows.

The layout puts the customers the benchmark probes at fixed places:

- ``c-000000`` .. : the giants, each with ``giant_touches`` touches in the last year;
- the probe: a customer of the same profile as the giants with exactly ``probe_touches``;
- ``rep-small``: an owner of ``small_rep_customers`` customers;
- team ``mass-market``: ``team_customers`` customers (its reps own 250 each);
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

YEAR_SECONDS = 365 * 86400
SMALL_REP = "rep-small"
BIG_TEAM = "mass-market"
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


def customer_id(index: int) -> str:
    return f"c-{index:06d}"


@dataclass(frozen=True, slots=True)
class Layout:
    """Sizes of the data set, and where its notable customers are."""

    customers: int = 60_000
    touches: int = 1_000_000
    giants: int = 2
    giant_touches: int = 100_000
    probe_touches: int = 10
    small_rep_customers: int = 50
    team_customers: int = 50_000

    def __post_init__(self) -> None:
        special = self.giants + 1 + self.small_rep_customers + self.team_customers
        if self.customers < special:
            raise ValueError(f"need at least {special} customers for this layout")
        if self.ordinary_touches < 0:
            raise ValueError("fewer touches than the giants and the probe need")

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
    plan: list[tuple[int, int]] = [(g, layout.giant_touches) for g in range(layout.giants)]
    plan.append((layout.probe, layout.probe_touches))
    serial = 0
    for index, count in plan:
        for _ in range(count):
            serial += 1
            yield _touch(tenant_id, layout, index, serial, now, rng, quiet=True)
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
) -> tuple[object, ...]:
    occurred = now - timedelta(seconds=rng.randint(120, YEAR_SECONDS))
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
