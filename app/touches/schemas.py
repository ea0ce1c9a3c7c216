from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

from pydantic import Field, PlainSerializer, StrictBool, WithJsonSchema

from app.schemas import (
    ErrorItemRead,
    ExternalId,
    Input,
    Instant,
    JudgedInstant,
    Output,
    Slug,
    json_object,
)

WELL_KNOWN_CHANNELS = (
    "phone", "email", "sms", "im", "meeting", "video", "visit", "webinar", "event", "social",
    "ad", "web", "chat", "letter", "other",
)  # fmt: skip


class Kind(StrEnum):
    contact = "contact"
    engagement = "engagement"
    purchase = "purchase"


class Direction(StrEnum):
    outbound = "outbound"
    inbound = "inbound"


class Category(StrEnum):
    marketing = "marketing"
    sales = "sales"
    service = "service"
    partner = "partner"


class Depth(StrEnum):
    light = "light"
    value = "value"
    deep = "deep"


class Actor(Input):
    rep_id: ExternalId | None = None
    team: Slug | None = None
    partner_id: ExternalId | None = None


Amount = Annotated[
    Decimal,
    Field(ge=0, max_digits=20, decimal_places=4, allow_inf_nan=False),
    PlainSerializer(float, return_type=float, when_used="json"),
]

TOUCH_EXAMPLE: dict[str, Any] = {
    "customer_id": "c-1001",
    "channel": "email",
    "occurred_at": "2026-11-20T09:30:00+08:00",
    "kind": "contact",
    "direction": "outbound",
    "outcome": "delivered",
    "category": "sales",
    "actor": {"rep_id": "rep-7", "team": "north-sales", "partner_id": None},
    "automated": False,
    "depth": "value",
    "source": "crm-main",
    "external_id": "evt-99812",
    "metadata": {},
}


class TouchIn(Input):
    """One touch: a contact, an engagement with an earlier contact, or a purchase."""

    customer_id: ExternalId
    channel: Slug = Field(description="A well-known channel or any other slug.")
    occurred_at: JudgedInstant = Field(
        description="From the year 100 on; at most 5 minutes in the future."
    )
    kind: Kind = Kind.contact
    direction: Direction = Direction.outbound
    outcome: Slug | None = None
    category: Category | None = None
    actor: Actor = Field(default_factory=Actor)
    automated: StrictBool = False
    depth: Depth | None = None
    amount: Amount | None = Field(default=None, description="Purchases: a money amount >= 0.")
    source: Slug = Field(default="api", description="The sending system.")
    external_id: ExternalId | None = Field(
        default=None, description="With `source`, makes the touch idempotent."
    )
    ref_external_id: ExternalId | None = Field(
        default=None, description="An engagement points at its contact (same source)."
    )
    campaign_id: ExternalId | None = None
    metadata: json_object(16 * 1024) = Field(default_factory=dict)  # type: ignore[valid-type]

    model_config = {"json_schema_extra": {"examples": [TOUCH_EXAMPLE]}}


class ActorRead(Output):
    rep_id: str | None
    team: str | None
    partner_id: str | None


STORED_EXAMPLE: dict[str, Any] = {
    **TOUCH_EXAMPLE,
    "id": "0b9f3c1e-6a0e-4a53-9a4e-3f3c2d1b7a10",
    "occurred_at": "2026-11-20T01:30:00Z",
    "ref_external_id": None,
    "campaign_id": None,
    "amount": None,
    "received_at": "2026-11-20T01:30:02Z",
}


class TouchRead(Output):
    id: UUID
    customer_id: str
    channel: str
    occurred_at: Instant
    kind: Kind
    direction: Direction
    outcome: str | None
    category: Category | None
    actor: ActorRead
    automated: bool
    depth: Depth | None
    amount: Amount | None
    source: str
    external_id: str | None
    ref_external_id: str | None
    campaign_id: str | None
    metadata: dict[str, Any]
    received_at: Instant

    model_config = {"json_schema_extra": {"examples": [STORED_EXAMPLE]}}


class TouchStored(TouchRead):
    id: UUID | None = Field(  # type: ignore[assignment]  # wider than a read touch
        description="null for a redelivery of an erased customer's touch (acknowledged as a"
        " duplicate, nothing stored)."
    )
    duplicate: bool = Field(description="True when this touch was already stored.")

    model_config = {"json_schema_extra": {"examples": [{**STORED_EXAMPLE, "duplicate": False}]}}


RawTouch = Annotated[Any, WithJsonSchema({"$ref": "#/components/schemas/TouchIn"})]


class TouchBatch(Input):
    touches: list[RawTouch] = Field(min_length=1, max_length=1000)

    model_config = {"json_schema_extra": {"examples": [{"touches": [TOUCH_EXAMPLE]}]}}


class ItemStatus(StrEnum):
    created = "created"
    duplicate = "duplicate"
    rejected = "rejected"
    skipped = "skipped"


class ItemResult(Output):
    index: int
    status: ItemStatus
    id: UUID | None
    errors: list[ErrorItemRead] | None


BATCH_RESULT_EXAMPLE: dict[str, Any] = {
    "created": 1,
    "duplicates": 1,
    "rejected": 1,
    "results": [
        {
            "index": 0,
            "status": "created",
            "id": "0b9f3c1e-6a0e-4a53-9a4e-3f3c2d1b7a10",
            "errors": None,
        },
        {
            "index": 1,
            "status": "duplicate",
            "id": "0b9f3c1e-6a0e-4a53-9a4e-3f3c2d1b7a10",
            "errors": None,
        },
        {
            "index": 2,
            "status": "rejected",
            "id": None,
            "errors": [{"loc": ["body", "touches", 2, "channel"], "msg": "Field required"}],
        },
    ],
}


class BatchResult(Output):
    created: int
    duplicates: int
    rejected: int
    results: list[ItemResult]

    model_config = {"json_schema_extra": {"examples": [BATCH_RESULT_EXAMPLE]}}
