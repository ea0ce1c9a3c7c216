from typing import Annotated, Any

from fastapi import APIRouter, Path, Request

from app.auth import Admin
from app.db import SessionDep, read_only
from app.deps import NowDep
from app.errors import responses
from app.pagination import PageDep, page_of
from app.schemas import Page
from app.touches.schemas import TOUCH_EXAMPLE, ItemResult, ItemStatus
from app.touches.service import ItemOutcome
from app.webhooks import service
from app.webhooks.schemas import (
    SENDGRID_EXAMPLE,
    SendGridEvent,
    SourceCreate,
    SourceCreated,
    SourceRead,
    WebhookResult,
)

router = APIRouter(prefix="/v1", tags=["webhooks"])


def _header(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "header",
        "required": False,
        "schema": {"type": "string"},
        "description": description,
    }


WEBHOOK_OPENAPI: dict[str, Any] = {
    "security": [],  # no API key: the source's signature authenticates the delivery
    "parameters": [
        _header("webhook-id", "generic: the message id; keys items without `external_id`."),
        _header("webhook-timestamp", "generic: unix seconds, within 5 minutes of now."),
        _header("webhook-signature", "generic: space-separated `v1,<base64 HMAC-SHA256>`."),
        _header("X-Twilio-Email-Event-Webhook-Signature", "sendgrid: base64 DER ECDSA."),
        _header("X-Twilio-Email-Event-Webhook-Timestamp", "sendgrid: unix seconds."),
    ],
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [
                        {"$ref": "#/components/schemas/TouchIn"},
                        {"$ref": "#/components/schemas/TouchBatch"},
                        {"type": "array", "items": SendGridEvent.model_json_schema()},
                    ]
                },
                "examples": {
                    "generic": {"value": {"touches": [TOUCH_EXAMPLE]}},
                    "sendgrid": {"value": [SENDGRID_EXAMPLE]},
                },
            }
        },
    },
}


WEBHOOK_RESPONSES = responses(401, 413, 422)
WEBHOOK_RESPONSES[401]["description"] = "Unknown source, or a missing, bad or stale signature"
WEBHOOK_RESPONSES[422]["description"] = (
    'The body is not JSON, or not a touch, `{"touches": [1..1000]}` (generic) or an array of '
    "events (sendgrid); invalid items are answered with 200 and reported as `rejected`"
)


@router.post(
    "/sources",
    status_code=201,
    summary="Register a webhook source",
    responses=responses(401, 403, 409, 422),
)
async def create_source(
    request: SourceCreate, session: SessionDep, principal: Admin, now: NowDep
) -> SourceCreated:
    """Register a partner system; a generic source's secret is in this response only."""
    return await service.create_source(session, principal.tenant_id, request, now)


@router.get("/sources", summary="List webhook sources", responses=responses(401, 403, 422))
@read_only
async def list_sources(session: SessionDep, principal: Admin, page: PageDep) -> Page[SourceRead]:
    """The tenant's sources by name, without their secrets."""
    items = await service.list_sources(
        session, principal.tenant_id, after=page.after_text(), limit=page.limit + 1
    )
    items, cursor = page_of(items, page.limit, lambda item: [item.name])
    return Page[SourceRead](items=items, next_cursor=cursor)


def to_result(outcomes: list[ItemOutcome]) -> WebhookResult:
    def count(status: ItemStatus) -> int:
        return sum(1 for o in outcomes if o.status is status)

    return WebhookResult(
        created=count(ItemStatus.created),
        duplicates=count(ItemStatus.duplicate),
        skipped=count(ItemStatus.skipped),
        rejected=count(ItemStatus.rejected),
        results=[
            ItemResult(index=i, status=o.status, id=o.id, errors=o.errors)
            for i, o in enumerate(outcomes)
        ],
    )


@router.post(
    "/webhooks/{source}",
    summary="Receive a signed webhook delivery",
    openapi_extra=WEBHOOK_OPENAPI,
    responses=WEBHOOK_RESPONSES,
)
async def receive_webhook(
    source: Annotated[str, Path(description="The registered source's name.")],
    request: Request,
    session: SessionDep,
    now: NowDep,
) -> WebhookResult:
    """Verify the source's signature over the raw body, then store what the delivery carries."""
    body = await request.body()
    outcomes = await service.receive(session, source, request.headers, body, now)
    return to_result(outcomes)
