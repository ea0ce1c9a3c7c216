from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import Field, model_validator

from app.schemas import ExternalId, Input, Instant, Output, Text


class Role(StrEnum):
    admin = "admin"
    ingest = "ingest"
    read = "read"
    partner = "partner"


class ApiKeyCreate(Input):
    role: Role
    partner_id: ExternalId | None = None
    name: Text | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _partner_id_goes_with_partner_role(self) -> "ApiKeyCreate":
        if (self.role is Role.partner) != (self.partner_id is not None):
            raise ValueError("partner_id is required for the partner role and only for it")
        return self

    model_config = {
        "json_schema_extra": {
            "examples": [{"role": "partner", "partner_id": "dist-42", "name": "Portal"}]
        }
    }


KEY_EXAMPLE: dict[str, Any] = {
    "id": "5d1f0f3e-2f7b-4c55-8f0e-1d2c3b4a5f60",
    "role": "partner",
    "partner_id": "dist-42",
    "name": "Portal",
    "created_at": "2026-11-20T03:00:00Z",
}


class ApiKeyRead(Output):
    id: UUID
    role: Role
    partner_id: str | None
    name: str | None
    created_at: Instant
    revoked_at: Instant | None

    model_config = {"json_schema_extra": {"examples": [{**KEY_EXAMPLE, "revoked_at": None}]}}


class ApiKeyCreated(Output):
    id: UUID
    key: str = Field(description="The secret, shown this once.")
    role: Role
    partner_id: str | None
    name: str | None
    created_at: Instant

    model_config = {
        "json_schema_extra": {
            "examples": [
                {**KEY_EXAMPLE, "key": "tb_4db7945b521b4918a6b7d9899bfa4795_2WBF9pyED26Eg"}
            ]
        }
    }
