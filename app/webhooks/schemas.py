from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.schemas import Input, Instant, Output, Slug
from app.touches.schemas import ItemResult
from app.webhooks import signing

PUBLIC_KEY_EXAMPLE = (
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEdnEC4jIkxkNAIlX3/1ggpEM3OxwCLkTYqXCw+LQad51UZ55gXdai"
    "rtyUmDtwpD+O0uWGID1SotJfvqyXShAPEw=="
)


class SourceKind(StrEnum):
    generic = "generic"
    sendgrid = "sendgrid"


class SourceCreate(Input):
    """A partner system that will post signed webhooks to `/v1/webhooks/{name}`."""

    name: Slug = Field(description="Unique across the whole service; the webhook path's name.")
    kind: SourceKind
    verification_public_key: str | None = Field(
        default=None,
        max_length=1024,
        description="sendgrid only, and required there: the provider's base64 DER "
        "ECDSA P-256 public key.",
    )

    @field_validator("verification_public_key")
    @classmethod
    def _p256_key(cls, value: str | None) -> str | None:
        return None if value is None else signing.normalize_public_key(value)

    model_config = {
        "json_schema_extra": {
            "examples": [
                {"name": "crm-main", "kind": "generic"},
                {
                    "name": "sendgrid-main",
                    "kind": "sendgrid",
                    "verification_public_key": PUBLIC_KEY_EXAMPLE,
                },
            ]
        }
    }


SOURCE_EXAMPLE: dict[str, Any] = {
    "name": "shop",
    "kind": "generic",
    "verification_public_key": None,
    "created_at": "2026-11-20T03:00:00Z",
}


class SourceRead(Output):
    name: str
    kind: SourceKind
    verification_public_key: str | None
    created_at: Instant

    model_config = {"json_schema_extra": {"examples": [SOURCE_EXAMPLE]}}


class SourceCreated(SourceRead):
    secret: str | None = Field(
        description="generic: `whsec_` and the base64 HMAC key, shown this once; sendgrid: null."
    )

    model_config = {
        "json_schema_extra": {
            "examples": [{**SOURCE_EXAMPLE, "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}]
        }
    }


class WebhookResult(Output):
    created: int
    duplicates: int
    skipped: int = Field(description="Events that make no touch (SendGrid only).")
    rejected: int
    results: list[ItemResult]

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "created": 1,
                    "duplicates": 0,
                    "skipped": 1,
                    "rejected": 0,
                    "results": [
                        {
                            "index": 0,
                            "status": "created",
                            "id": "0b9f3c1e-6a0e-4a53-9a4e-3f3c2d1b7a10",
                            "errors": None,
                        },
                        {"index": 1, "status": "skipped", "id": None, "errors": None},
                    ],
                }
            ]
        }
    }


SENDGRID_EXAMPLE: dict[str, Any] = {
    "email": "buyer@acme.example",
    "timestamp": 1795143600,
    "event": "delivered",
    "sg_event_id": "ZGVsaXZlcmVkLTAtMjQ5NjgwNjc",
    "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
    "customer_id": "c-1001",
}


class SendGridEvent(BaseModel):
    """One SendGrid event, as the provider posts it (only the keys read here are listed)."""

    event: str = Field(description="processed, delivered, open, click, unsubscribe, ...")
    timestamp: int = Field(description="Unix seconds.")
    email: str | None = Field(default=None, description="Finds the customer by profile email.")
    sg_message_id: str | None = Field(default=None, description="Keys the message's contact.")
    sg_event_id: str | None = Field(default=None, description="Keys an engagement.")
    customer_id: str | None = Field(
        default=None, description="Custom argument naming the customer; wins over `email`."
    )

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [SENDGRID_EXAMPLE]})
