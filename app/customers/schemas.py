from enum import StrEnum
from functools import lru_cache
from typing import Annotated, Any, Literal
from zoneinfo import available_timezones

from pydantic import AfterValidator, BaseModel, Field, StringConstraints, WithJsonSchema

from app.schemas import (
    ErrorItemRead,
    ExternalId,
    Input,
    Instant,
    Output,
    Slug,
    Text,
    TimeOfDay,
    json_object,
)

# Keys zoneinfo may find in the system's zone directory that name no place: the host's own
# zone, the POSIX rules template, and tzdata's placeholder for a zone not yet set.
NOT_PLACES = frozenset({"localtime", "posixrules", "Factory"})


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones()) - NOT_PLACES


def _iana_zone(value: str) -> str:
    if value not in _zones():
        raise ValueError("must be an IANA time zone such as Asia/Shanghai")
    return value


TimeZoneName = Annotated[str, AfterValidator(_iana_zone)]
CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
Email = Annotated[str, StringConstraints(max_length=254, pattern=r"^[^@\s\x00]+@[^@\s\x00]+$")]


class QuietHours(Input):
    start: TimeOfDay
    end: TimeOfDay


class Preferences(Input):
    opted_out_channels: list[Slug | Literal["all"]] = Field(default_factory=list, max_length=64)
    paused_until: Instant | None = None
    preferred_channels: list[Slug] = Field(default_factory=list, max_length=64)
    max_contacts_per_30d: int | None = Field(default=None, ge=0, le=10_000)
    quiet_hours: QuietHours | None = Field(
        default=None, description="In the customer's zone; may wrap midnight."
    )


class Owner(Input):
    rep_id: ExternalId | None = None
    team: Slug | None = None


PROFILE_EXAMPLE: dict[str, Any] = {
    "name": "Acme Ltd",
    "segment": "strategic",
    "stage": "opportunity",
    "market": "b2b",
    "industry": "industrial",
    "owner": {"rep_id": "rep-7", "team": "north-sales"},
    "timezone": "Asia/Shanghai",
    "country": "CN",
    "email": "buyer@acme.example",
    "preferences": {
        "opted_out_channels": ["sms"],
        "preferred_channels": ["email", "phone"],
        "max_contacts_per_30d": 4,
        "quiet_hours": {"start": "20:00", "end": "09:00"},
    },
}


class CustomerWrite(Input):
    """A customer profile; every field is optional."""

    customer_id: ExternalId | None = Field(default=None, description="Must match the path.")
    name: Text | None = Field(default=None, max_length=500)
    segment: Slug | None = Field(default=None, description="Value tier, e.g. strategic.")
    stage: Slug | None = Field(default=None, description="Lifecycle stage, e.g. opportunity.")
    market: Slug | None = Field(default=None, description="b2b or b2c.")
    industry: Slug | None = Field(default=None, description="e.g. fmcg, industrial.")
    owner: Owner = Field(default_factory=Owner)
    timezone: TimeZoneName | None = None
    country: CountryCode | None = Field(default=None, description="ISO 3166-1 alpha-2.")
    email: Email | None = None
    preferences: Preferences = Field(default_factory=Preferences)
    attributes: json_object(64 * 1024) = Field(default_factory=dict)  # type: ignore[valid-type]
    # Read-only: accepted so that a profile read with GET can be sent back, and ignored.
    created_at: Any = Field(default=None, exclude=True, description="Read-only; ignored.")
    updated_at: Any = Field(default=None, exclude=True, description="Read-only; ignored.")
    stage_entered_at: Any = Field(default=None, exclude=True, description="Read-only; ignored.")

    model_config = {"json_schema_extra": {"examples": [PROFILE_EXAMPLE]}}


class OwnerRead(Output):
    rep_id: str | None
    team: str | None


class QuietHoursRead(Output):
    start: str
    end: str


class PreferencesRead(Output):
    opted_out_channels: list[str]
    paused_until: Instant | None
    preferred_channels: list[str]
    max_contacts_per_30d: int | None
    quiet_hours: QuietHoursRead | None


CUSTOMER_EXAMPLE: dict[str, Any] = {
    "customer_id": "c-1001",
    **PROFILE_EXAMPLE,
    "preferences": {**PROFILE_EXAMPLE["preferences"], "paused_until": None},
    "attributes": {},
    "created_at": "2026-11-01T08:00:00Z",
    "updated_at": "2026-11-20T03:00:00Z",
    "stage_entered_at": "2026-11-10T02:00:00Z",
}


class CustomerRead(Output):
    customer_id: str
    name: str | None
    segment: str | None
    stage: str | None
    market: str | None
    industry: str | None
    owner: OwnerRead
    timezone: str | None
    country: str | None
    email: str | None
    preferences: PreferencesRead
    attributes: dict[str, Any]
    created_at: Instant
    updated_at: Instant
    stage_entered_at: Instant

    model_config = {"json_schema_extra": {"examples": [CUSTOMER_EXAMPLE]}}


class CustomerFilters(BaseModel):
    segment: Slug | None = None
    stage: Slug | None = None
    owner_rep: ExternalId | None = None
    team: Slug | None = None


class CustomerBatchItem(CustomerWrite):
    """A profile of a batch: as ``PUT`` takes it, and naming the customer it is stored under."""

    customer_id: ExternalId


# Items are validated one by one (a bad item is rejected alone), so the body takes any value.
RawCustomer = Annotated[
    Any,
    WithJsonSchema(
        {
            "allOf": [{"$ref": "#/components/schemas/CustomerWrite"}],
            "required": ["customer_id"],
            "description": "A profile as PUT takes it, with its customer_id.",
        }
    ),
]

BATCH_EXAMPLE: dict[str, Any] = {
    "customers": [
        {"customer_id": "c-1001", **PROFILE_EXAMPLE},
        {"customer_id": "c-1002", "name": "Globex", "stage": "lead", "market": "b2c"},
    ]
}


class CustomerBatch(Input):
    customers: list[RawCustomer] = Field(min_length=1, max_length=1000)

    model_config = {"json_schema_extra": {"examples": [BATCH_EXAMPLE]}}


class CustomerItemStatus(StrEnum):
    created = "created"
    replaced = "replaced"
    rejected = "rejected"


class CustomerItemResult(Output):
    index: int
    customer_id: str | None = Field(description="As given; null when missing or not a string.")
    status: CustomerItemStatus
    errors: list[ErrorItemRead] | None


BATCH_RESULT_EXAMPLE: dict[str, Any] = {
    "created": 1,
    "replaced": 1,
    "rejected": 1,
    "results": [
        {"index": 0, "customer_id": "c-1001", "status": "replaced", "errors": None},
        {"index": 1, "customer_id": "c-1002", "status": "created", "errors": None},
        {
            "index": 2,
            "customer_id": "c-1001",
            "status": "rejected",
            "errors": [
                {
                    "loc": ["body", "customers", 2, "customer_id"],
                    "msg": "repeats the customer_id of item 0",
                }
            ],
        },
    ],
}


class CustomerBatchResult(Output):
    created: int
    replaced: int
    rejected: int
    results: list[CustomerItemResult]

    model_config = {"json_schema_extra": {"examples": [BATCH_RESULT_EXAMPLE]}}
