"""The served OpenAPI document's operations, and requests that reach each of them."""

import uuid
from dataclasses import dataclass
from typing import Any

from app.main import create_app

# The document as the app serves it (a unit test keeps openapi/openapi.json equal to it).
DOCUMENT: dict[str, Any] = create_app().openapi()
WEBHOOKS = "/v1/webhooks/{source}"
PATH_VALUES = {
    "customer_id": "c-probe",
    "key_id": str(uuid.UUID(int=1)),
    "plan_id": str(uuid.UUID(int=2)),
    "lock_id": str(uuid.UUID(int=3)),
    "touch_id": str(uuid.UUID(int=4)),
    "source": "nobody",
    "endpoint_id": str(uuid.UUID(int=5)),
}


@dataclass(frozen=True, slots=True)
class Operation:
    method: str
    template: str
    spec: dict[str, Any]

    @property
    def label(self) -> str:
        return f"{self.method} {self.template}"

    @property
    def path(self) -> str:
        return self.template.format(**PATH_VALUES)

    @property
    def has_body(self) -> bool:
        return "requestBody" in self.spec

    def query_parameters(self) -> list[str]:
        return [p["name"] for p in self.spec.get("parameters", []) if p["in"] == "query"]


def operations(prefix: str = "/v1") -> list[Operation]:
    """Every operation under ``prefix`` except the signed webhooks, in document order."""
    return [
        Operation(method.upper(), path, spec)
        for path, methods in DOCUMENT["paths"].items()
        for method, spec in methods.items()
        if path.startswith(prefix) and path != WEBHOOKS
    ]


def labelled(ops: list[Operation]) -> dict[str, Operation]:
    return {op.label: op for op in ops}
