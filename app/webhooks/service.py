"""Webhook sources, and signed deliveries turned into touches."""

import hashlib
import re
import secrets
import uuid
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson
from pydantic import ValidationError
from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from app.customers import repository as customers_repo
from app.errors import Conflict, ErrorItem, Invalid, Unauthorized, validation_items
from app.frequency import ingest as day_counts
from app.refresh import service as refresh
from app.schemas import ID_PATTERN, SLUG_PATTERN
from app.touches import repository as touches_repo
from app.touches import service as touches
from app.touches.schemas import ItemStatus, Kind, TouchBatch, TouchIn
from app.touches.service import ItemOutcome
from app.webhooks import repository, sendgrid, signing
from app.webhooks.schemas import SourceCreate, SourceCreated, SourceKind, SourceRead

SECRET_BYTES = 32
NOT_SIGNED = "The webhook is not signed by a known source."
SLUG = re.compile(SLUG_PATTERN)
ID = re.compile(ID_PATTERN)


def new_secret() -> str:
    return signing.secret_from_bytes(secrets.token_bytes(SECRET_BYTES))


def _check_credentials(request: SourceCreate) -> None:
    loc = ["body", "verification_public_key"]
    has_key = request.verification_public_key is not None
    if request.kind is SourceKind.sendgrid and not has_key:
        raise Invalid.at(loc, "required for a sendgrid source")
    if request.kind is SourceKind.generic and has_key:
        raise Invalid.at(loc, "only a sendgrid source takes a public key")


async def create_source(
    session: AsyncSession, tenant_id: uuid.UUID, request: SourceCreate, now: datetime
) -> SourceCreated:
    """Register a source; its name must be free across every tenant (409 names nobody)."""
    _check_credentials(request)
    secret = new_secret() if request.kind is SourceKind.generic else None
    values = {
        "tenant_id": tenant_id,
        "name": request.name,
        "kind": request.kind.value,
        "secret": secret,
        "verification_public_key": request.verification_public_key,
        "created_at": now,
    }
    if not await repository.insert_new(session, values):
        error = ErrorItem(loc=["body", "name"], msg="is already taken")
        raise Conflict("This source name is already taken.", errors=[error])
    await session.commit()
    return SourceCreated.model_validate(values)


async def list_sources(
    session: AsyncSession, tenant_id: uuid.UUID, *, after: str | None, limit: int
) -> list[SourceRead]:
    rows = await repository.list_page(session, tenant_id, after=after, limit=limit)
    return [SourceRead.model_validate(row) for row in rows]


def _signed(source: RowMapping, headers: Mapping[str, str], body: bytes, now: datetime) -> bool:
    if source["kind"] == SourceKind.generic:
        return signing.verify_standard(source["secret"], headers, body, now)
    return signing.verify_sendgrid(source["verification_public_key"], headers, body, now)


async def authenticate(
    session: AsyncSession, name: str, headers: Mapping[str, str], body: bytes, now: datetime
) -> RowMapping:
    """The source, if it signed this delivery; one answer for unknown sources and bad signatures."""
    source = await repository.find_by_name(session, name) if SLUG.fullmatch(name) else None
    if source is None or not _signed(source, headers, body, now):
        raise Unauthorized(NOT_SIGNED)
    return source


def load_json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise Invalid.at(["body"], "must be a JSON document") from None


async def receive(
    session: AsyncSession, name: str, headers: Mapping[str, str], body: bytes, now: datetime
) -> list[ItemOutcome]:
    """Verify a delivery's signature, then store what it carries; one outcome per item."""
    source = await authenticate(session, name, headers, body, now)
    payload = load_json(body)
    if source["kind"] == SourceKind.generic:
        webhook_id = headers[signing.WEBHOOK_ID]
        return await receive_generic(session, source, webhook_id, payload, now)
    return await receive_sendgrid(session, source, payload, now)


# --- generic: Standard Webhooks carrying touches -------------------------------------------


def delivery_external_id(webhook_id: str, index: int) -> str:
    """The key of an item without ``external_id``: the delivery's id and the item's index.

    A webhook-id that would not make a valid id (other characters, too long) is hashed.
    """
    candidate = f"{webhook_id}:{index}"
    if ID.fullmatch(candidate):
        return candidate
    return f"sha256.{hashlib.sha256(webhook_id.encode()).hexdigest()}:{index}"


def keyed_item(raw: Any, source: str, webhook_id: str, index: int) -> Any:
    """The item with the path's source, and a key derived from the delivery if it has none."""
    if not isinstance(raw, dict):
        return raw
    item = {**raw, "source": source}
    if item.get("external_id") is None:
        item["external_id"] = delivery_external_id(webhook_id, index)
    return item


def generic_items(payload: Any) -> tuple[list[Any], bool]:
    """The delivery's raw items, and whether it was one bare touch."""
    if isinstance(payload, dict) and "touches" in payload:
        try:
            return TouchBatch.model_validate(payload).touches, False
        except ValidationError as exc:
            errors = validation_items([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()])
            raise Invalid("The request is not valid; see errors.", errors=errors) from None
    if isinstance(payload, dict):
        return [payload], True
    raise Invalid.at(["body"], 'must be a touch object or {"touches": [...]}')


def _unwrap_single(outcome: ItemOutcome) -> ItemOutcome:
    """Errors of a bare touch are located in the body itself, not in a ``touches`` list."""
    for error in outcome.errors or ():
        if error.loc[:3] == ["body", "touches", 0]:
            error.loc = ["body", *error.loc[3:]]
    return outcome


async def receive_generic(
    session: AsyncSession, source: RowMapping, webhook_id: str, payload: Any, now: datetime
) -> list[ItemOutcome]:
    raw_items, single = generic_items(payload)
    items = [keyed_item(raw, source["name"], webhook_id, i) for i, raw in enumerate(raw_items)]
    outcomes = await touches.record_batch(session, source["tenant_id"], items, now)
    return [_unwrap_single(o) for o in outcomes] if single else outcomes


# --- sendgrid: the Event Webhook ------------------------------------------------------------


def _contact_news(
    planned: Sequence[TouchIn], stored: Sequence[ItemOutcome]
) -> list[tuple[str, datetime, bool]]:
    """Contacts stored before this delivery may have to move earlier or become delivered."""
    news: dict[str, tuple[str, datetime, bool]] = {}
    for touch, outcome in zip(planned, stored, strict=True):
        if touch.kind is Kind.contact and outcome.status is ItemStatus.duplicate:
            assert touch.external_id is not None
            delivered = touch.outcome == "delivered"
            news[touch.external_id] = (touch.external_id, touch.occurred_at, delivered)
    return list(news.values())


def _outcome(planned: sendgrid.Planned, stored: Iterator[ItemOutcome]) -> ItemOutcome:
    if isinstance(planned, TouchIn):
        return next(stored)
    if isinstance(planned, sendgrid.Skipped):
        return ItemOutcome(ItemStatus.skipped)
    return ItemOutcome(ItemStatus.rejected, errors=planned)


async def receive_sendgrid(
    session: AsyncSession, source: RowMapping, payload: Any, now: datetime
) -> list[ItemOutcome]:
    if not isinstance(payload, list):
        raise Invalid.at(["body"], "must be an array of SendGrid events")
    tenant_id: uuid.UUID = source["tenant_id"]
    parsed = [sendgrid.parse_event(raw, i, now) for i, raw in enumerate(payload)]
    emails = sendgrid.emails_to_match(parsed)
    by_email = await customers_repo.find_by_email(session, tenant_id, emails)
    planned = sendgrid.plan(parsed, by_email, source["name"])
    valid = [p for p in planned if isinstance(p, TouchIn)]
    stored = await touches.store(session, tenant_id, valid, now)
    news = _contact_news(valid, stored)
    moved = await touches_repo.merge_contacts(session, tenant_id, source["name"], news)
    await day_counts.recount_moved(session, tenant_id, moved)
    since: dict[str, datetime] = {}
    for row in moved:  # a contact only ever moves earlier
        customer = row["customer_id"]
        since[customer] = min(since.get(customer, row["occurred_at"]), row["occurred_at"])
    await refresh.contacts_changed(session, tenant_id, since)
    await session.commit()
    remaining = iter(stored)
    outcomes = [_outcome(p, remaining) for p in planned]
    touches.count_created(outcomes)
    return outcomes
