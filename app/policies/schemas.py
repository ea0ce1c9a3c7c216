"""The policy document of the API, validated, and its mapping to the engine's types."""

from datetime import time
from typing import Annotated, Any, Self

from pydantic import AfterValidator, Field, model_validator

from app import cadence
from app.customers.schemas import CountryCode, TimeZoneName
from app.schemas import Input, Instant, RfmSegment, Slug, Text, TimeOfDay
from app.touches.schemas import Depth

WindowDays = Annotated[int, Field(ge=1, le=365)]


def _distinct(values: list[Any]) -> list[Any]:
    if len(set(values)) != len(values):
        raise ValueError("values must be distinct")
    return values


class CapDoc(Input):
    window_days: WindowDays
    max: int = Field(ge=0, le=100_000)
    channels: Annotated[list[Slug], AfterValidator(_distinct)] | None = Field(
        default=None, max_length=64, description="Only these channels; null: all."
    )


class TargetDoc(Input):
    window_days: WindowDays
    min: int = Field(ge=1, le=100_000)
    depth: Depth | None = Field(default=None, description="This depth or deeper; null: any.")


SlugList = Annotated[list[Slug], Field(min_length=1, max_length=256)]


class MatchDoc(Input):
    segment: SlugList | None = None
    stage: SlugList | None = None
    market: SlugList | None = None
    industry: SlugList | None = None
    stage_age_days_lt: int | None = Field(default=None, ge=0, le=36_500)
    stage_age_days_gte: int | None = Field(default=None, ge=0, le=36_500)
    outbound_in_stage_lt: int | None = Field(
        default=None,
        ge=0,
        le=1000,
        description="Fewer outbound, non-automated contacts than this since the stage began.",
    )
    outbound_in_stage_gte: int | None = Field(
        default=None,
        ge=0,
        le=1000,
        description="At least this many outbound, non-automated contacts since the stage began.",
    )
    rfm_segment: Annotated[list[RfmSegment], AfterValidator(_distinct)] | None = Field(
        default=None,
        min_length=1,
        max_length=13,
        description="The customer's segment in the tenant's RFM snapshot (none: outside it).",
    )

    def is_catch_all(self) -> bool:
        return not self.model_dump(exclude_none=True)


class RuleDoc(Input):
    name: Text = Field(min_length=1, max_length=100)
    match: MatchDoc
    follow_up_days: int = Field(ge=1, le=3650)
    overdue_after_days: int = Field(ge=2, le=3650)
    min_gap_hours: float = Field(default=0, ge=0, le=24 * 365, allow_inf_nan=False)
    channel: Slug | None = None
    count_automated: bool = True
    caps: list[CapDoc] = Field(default_factory=list, max_length=20)
    targets: list[TargetDoc] = Field(default_factory=list, max_length=20)
    source: Text | None = Field(
        default=None, max_length=500, description="Where the rule comes from (the brief's row)."
    )

    @model_validator(mode="after")
    def _overdue_after_follow_up(self) -> Self:
        if self.overdue_after_days <= self.follow_up_days:
            raise ValueError("overdue_after_days must be greater than follow_up_days")
        return self


class BusinessDaysDoc(Input):
    weekdays: Annotated[list[Annotated[int, Field(ge=1, le=7)]], AfterValidator(_distinct)] = Field(
        min_length=1, max_length=7, description="ISO weekdays: 1 = Monday ... 7 = Sunday."
    )
    holidays_country: CountryCode | None = None


class ContactHoursDoc(Input):
    start: TimeOfDay
    end: TimeOfDay

    @model_validator(mode="after")
    def _start_before_end(self) -> Self:
        if self.start >= self.end:
            raise ValueError("contact_hours.start must be before end")
        return self


class RfmDoc(Input):
    window_days: int = Field(
        default=365, ge=1, le=3650, description="Purchases this many days before a snapshot count."
    )


class PolicyDoc(Input):
    """A cadence policy: rules tried in order, the last one matching everyone."""

    timezone: TimeZoneName = "UTC"
    business_days: BusinessDaysDoc | None = None
    contact_hours: ContactHoursDoc | None = None
    recent_contact_hours: float = Field(default=24, ge=0, le=24 * 365, allow_inf_nan=False)
    fatigue_days: int = Field(default=30, ge=1, le=365)
    complaint_pause_days: int = Field(default=90, ge=0, le=3650)
    segment_weights: dict[Slug, Annotated[float, Field(ge=0, le=1000, allow_inf_nan=False)]] = (
        Field(default_factory=dict, max_length=256)
    )
    rfm: RfmDoc = Field(default_factory=RfmDoc)
    retention_days: int | None = Field(
        default=None,
        ge=400,
        le=3650,
        description="Touches that occurred more than this many days ago are deleted in the"
        " background (analytics keep their counts); null keeps them for ever.",
    )
    rules: list[RuleDoc] = Field(min_length=1, max_length=200)

    @model_validator(mode="after")
    def _ends_with_catch_all(self) -> Self:
        if not self.rules[-1].match.is_catch_all():
            raise ValueError("the last rule must have an empty match (a catch-all)")
        if len({rule.name for rule in self.rules}) != len(self.rules):
            raise ValueError("rule names must be distinct")
        return self

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "timezone": "Asia/Shanghai",
                    "business_days": {"weekdays": [1, 2, 3, 4, 5], "holidays_country": "CN"},
                    "contact_hours": {"start": "09:00", "end": "18:00"},
                    "segment_weights": {"strategic": 3, "high_value": 2},
                    "rules": [
                        {
                            "name": "onboarding",
                            "match": {"stage": ["customer"], "stage_age_days_lt": 30},
                            "follow_up_days": 7,
                            "overdue_after_days": 10,
                            "min_gap_hours": 48,
                            "channel": "phone",
                            "caps": [{"window_days": 7, "max": 2, "channels": None}],
                            "targets": [{"window_days": 30, "min": 4, "depth": None}],
                        },
                        {
                            "name": "default",
                            "match": {},
                            "follow_up_days": 30,
                            "overdue_after_days": 60,
                        },
                    ],
                }
            ]
        }
    }


class PolicyRead(PolicyDoc):
    model_config = {"extra": "ignore"}

    version: int = Field(description="0 is the built-in default.")
    created_at: Instant | None = Field(description="Null for the built-in default.")


def _time(value: str) -> time:
    return time.fromisoformat(value)


def _set(values: list[str] | None) -> frozenset[str] | None:
    return frozenset(values) if values is not None else None


def to_engine(doc: PolicyDoc, version: int) -> cadence.Policy:
    """The engine's policy from a validated document."""
    business = doc.business_days
    hours = doc.contact_hours
    return cadence.Policy(
        rules=tuple(_rule(rule) for rule in doc.rules),
        version=version,
        timezone=doc.timezone,
        business_days=cadence.BusinessDays(frozenset(business.weekdays), business.holidays_country)
        if business
        else None,
        contact_hours=cadence.HoursRange(_time(hours.start), _time(hours.end)) if hours else None,
        recent_contact_hours=doc.recent_contact_hours,
        fatigue_days=doc.fatigue_days,
        complaint_pause_days=doc.complaint_pause_days,
        segment_weights=dict(doc.segment_weights),
        rfm_window_days=doc.rfm.window_days,
        retention_days=doc.retention_days,
    )


def _rule(rule: RuleDoc) -> cadence.Rule:
    m = rule.match
    return cadence.Rule(
        name=rule.name,
        match=cadence.Match(
            _set(m.segment),
            _set(m.stage),
            _set(m.market),
            _set(m.industry),
            m.stage_age_days_lt,
            m.stage_age_days_gte,
            m.outbound_in_stage_lt,
            m.outbound_in_stage_gte,
            _set([s.value for s in m.rfm_segment]) if m.rfm_segment is not None else None,
        ),
        follow_up_days=rule.follow_up_days,
        overdue_after_days=rule.overdue_after_days,
        min_gap_hours=rule.min_gap_hours,
        channel=rule.channel,
        count_automated=rule.count_automated,
        caps=tuple(cadence.Cap(c.window_days, c.max, _set(c.channels)) for c in rule.caps),
        targets=tuple(
            cadence.Target(t.window_days, t.min, t.depth.value if t.depth else None)
            for t in rule.targets
        ),
        source=rule.source,
    )


def from_engine(policy: cadence.Policy) -> PolicyDoc:
    """The document of an engine policy (the built-in default is written as engine types)."""

    def listed(values: frozenset[str] | None) -> list[str] | None:
        return sorted(values) if values is not None else None

    def rule_doc(rule: cadence.Rule) -> dict[str, Any]:
        m = rule.match
        return {
            "name": rule.name,
            "match": {
                "segment": listed(m.segment),
                "stage": listed(m.stage),
                "market": listed(m.market),
                "industry": listed(m.industry),
                "stage_age_days_lt": m.stage_age_days_lt,
                "stage_age_days_gte": m.stage_age_days_gte,
                "outbound_in_stage_lt": m.outbound_in_stage_lt,
                "outbound_in_stage_gte": m.outbound_in_stage_gte,
                "rfm_segment": listed(m.rfm_segment),
            },
            "follow_up_days": rule.follow_up_days,
            "overdue_after_days": rule.overdue_after_days,
            "min_gap_hours": rule.min_gap_hours,
            "channel": rule.channel,
            "count_automated": rule.count_automated,
            "caps": [
                {"window_days": c.window_days, "max": c.max, "channels": listed(c.channels)}
                for c in rule.caps
            ],
            "targets": [
                {"window_days": t.window_days, "min": t.min, "depth": t.depth} for t in rule.targets
            ],
            "source": rule.source,
        }

    business = policy.business_days
    hours = policy.contact_hours
    return PolicyDoc.model_validate(
        {
            "timezone": policy.timezone,
            "business_days": {
                "weekdays": sorted(business.weekdays),
                "holidays_country": business.holidays_country,
            }
            if business
            else None,
            "contact_hours": {
                "start": hours.start.strftime("%H:%M"),
                "end": hours.end.strftime("%H:%M"),
            }
            if hours
            else None,
            "recent_contact_hours": policy.recent_contact_hours,
            "fatigue_days": policy.fatigue_days,
            "complaint_pause_days": policy.complaint_pause_days,
            "segment_weights": dict(policy.segment_weights),
            "rfm": {"window_days": policy.rfm_window_days},
            "retention_days": policy.retention_days,
            "rules": [rule_doc(rule) for rule in policy.rules],
        }
    )
