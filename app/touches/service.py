"""Touch ingestion (single, batch, webhook, import) and history reads."""

import random
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from app import metrics
from app.auth import KeyChecked
from app.conflicts.consumption import consume_plans
from app.customers import repository as customers_repo
from app.db import Database, Fetch, driver_fetch, generic_plans
from app.errors import (
    ErrorItem,
    Invalid,
    NotFound,
    is_foreign_key_violation,
    validation_items,
)
from app.events import outbox
from app.frequency import ingest as day_counts
from app.frequency import status_events
from app.idempotency import gate as idempotency
from app.refresh import service as refresh
from app.schemas import format_utc
from app.touches import repository
from app.touches.repository import Ingested
from app.touches.schemas import ItemStatus, TouchIn, TouchRead

FUTURE_TOLERANCE = timedelta(minutes=5)


@dataclass(slots=True)
class ItemOutcome:
    """What became of one submitted touch."""

    status: ItemStatus
    id: uuid.UUID | None = None
    errors: list[ErrorItem] | None = None
    row: dict[str, Any] | RowMapping | None = field(default=None, repr=False)


def to_read(row: dict[str, Any] | RowMapping) -> TouchRead:
    return TouchRead.model_validate(
        {
            **row,
            "actor": {
                "rep_id": row["actor_rep_id"],
                "team": row["actor_team"],
                "partner_id": row["actor_partner_id"],
            },
        }
    )


def time_ordered_id(now: datetime) -> uuid.UUID:
    """A UUID version 7 (RFC 9562): milliseconds first, so a batch's ids land side by side in
    the primary key's index instead of on random pages of it."""
    millis = int(now.timestamp() * 1000) & (1 << 48) - 1
    bits = (millis << 80) | (0x7 << 76) | (random.getrandbits(12) << 64)
    return uuid.UUID(int=bits | (0b10 << 62) | random.getrandbits(62))


def to_row(touch: TouchIn, now: datetime) -> dict[str, Any]:
    """The row to store (enums as their text)."""
    actor = touch.actor
    return {
        "id": time_ordered_id(now), "customer_id": touch.customer_id, "channel": touch.channel,
        "occurred_at": touch.occurred_at, "kind": touch.kind.value,
        "direction": touch.direction.value, "outcome": touch.outcome,
        "category": touch.category.value if touch.category else None,
        "actor_rep_id": actor.rep_id, "actor_team": actor.team,
        "actor_partner_id": actor.partner_id, "automated": touch.automated,
        "depth": touch.depth.value if touch.depth else None, "amount": touch.amount,
        "source": touch.source, "external_id": touch.external_id,
        "ref_external_id": touch.ref_external_id, "campaign_id": touch.campaign_id,
        "metadata": touch.metadata, "received_at": now,
    }  # fmt: skip


def future_error(touch: TouchIn, now: datetime, loc: Sequence[str | int]) -> ErrorItem | None:
    if touch.occurred_at > now + FUTURE_TOLERANCE:
        return ErrorItem(loc=[*loc, "occurred_at"], msg="must not be more than 5 minutes ahead")
    return None


def parse_item(raw: Any, index: int, now: datetime) -> TouchIn | list[ErrorItem]:
    """Validate one item of a batch; its errors are located inside the batch."""
    loc: list[str | int] = ["body", "touches", index]
    try:
        touch = TouchIn.model_validate(raw)
    except ValidationError as exc:
        return validation_items([{**e, "loc": (*loc, *e["loc"])} for e in exc.errors()])
    error = future_error(touch, now, loc)
    return [error] if error else touch


def dedup_key(touch: TouchIn) -> tuple[str, str] | None:
    return (touch.source, touch.external_id) if touch.external_id else None


def _distinct(
    items: Sequence[TouchIn], now: datetime
) -> tuple[list[ItemOutcome], list[tuple[ItemOutcome, bool]]]:
    """Each touch to store once (a repeated (source, external_id) is a duplicate of the
    first), and each item's outcome with whether it repeats one."""
    firsts: dict[tuple[str, str], ItemOutcome] = {}
    distinct: list[ItemOutcome] = []
    placed: list[tuple[ItemOutcome, bool]] = []
    for touch in items:
        key = dedup_key(touch)
        if key is not None and key in firsts:
            placed.append((firsts[key], True))
            continue
        row = to_row(touch, now)
        outcome = ItemOutcome(ItemStatus.created, row["id"], row=row)
        distinct.append(outcome)
        placed.append((outcome, False))
        if key is not None:
            firsts[key] = outcome
    return distinct, placed


def _outcomes(placed: Sequence[tuple[ItemOutcome, bool]]) -> list[ItemOutcome]:
    return [
        ItemOutcome(ItemStatus.duplicate, outcome.id, row=outcome.row) if repeat else outcome
        for outcome, repeat in placed
    ]


def _rows(distinct: Sequence[ItemOutcome]) -> list[dict[str, Any]]:
    return [o.row for o in distinct if isinstance(o.row, dict)]


async def store(
    session: AsyncSession, tenant_id: uuid.UUID, items: Sequence[TouchIn], now: datetime
) -> list[ItemOutcome]:
    """Store valid touches in the session's transaction, each once, with all they change."""
    distinct, placed = _distinct(items, now)
    if distinct:
        fetch = await driver_fetch(session)
        ingested = await repository.ingest(fetch, tenant_id, _rows(distinct), now)
        new = await _resolve(fetch, tenant_id, distinct, ingested)
        await _follow_up(session, tenant_id, new, now)
    return _outcomes(placed)


async def _resolve(
    fetch: Fetch, tenant_id: uuid.UUID, distinct: Sequence[ItemOutcome], ingested: Ingested
) -> list[dict[str, Any]]:
    """Settle each outcome by what the statement stored; the rows it inserted. A touch the
    unique key refused is a duplicate of the stored one (read again if it came in after
    the statement began)."""
    new, unknown = [], []
    for ord_, outcome in enumerate(distinct, start=1):
        if ord_ not in ingested.stored:  # a redelivery of an erased touch: nothing stored
            outcome.status, outcome.id = ItemStatus.duplicate, None
            continue
        inserted, stored_id = ingested.stored[ord_]
        if inserted:
            assert isinstance(outcome.row, dict)
            new.append(outcome.row)
        elif stored_id is not None:
            outcome.status, outcome.id = ItemStatus.duplicate, stored_id
        else:
            unknown.append(outcome)
    if unknown:
        keys = [(o.row["source"], o.row["external_id"]) for o in unknown if o.row is not None]
        stored = await repository.ids_by_keys(fetch, tenant_id, keys)
        for outcome, key in zip(unknown, keys, strict=True):
            outcome.status, outcome.id = ItemStatus.duplicate, stored[key]
    return new


ENGAGING_OUTCOMES = frozenset({"opened", "clicked"})


def _engages(touch: TouchIn | dict[str, Any]) -> bool:
    """An engagement that changes more than its own row: it flags the contact it points at,
    or opts the customer out of its channel (an outbound event, if one is taken)."""
    kind, outcome, ref = (
        (touch.kind, touch.outcome, touch.ref_external_id)
        if isinstance(touch, TouchIn)
        else (touch["kind"], touch["outcome"], touch["ref_external_id"])
    )
    return kind == "engagement" and (
        outcome in status_events.OPTING_OUT or (outcome in ENGAGING_OUTCOMES and ref is not None)
    )


async def _follow_up(
    session: AsyncSession, tenant_id: uuid.UUID, rows: Sequence[dict[str, Any]], now: datetime
) -> None:
    """What new touches change beyond the ingest statement, in its transaction: the contacts
    engagements reach, opt-outs, and the plans contacts carry out."""
    engagements = [r for r in rows if _engages(r)]
    refs = [
        (r["source"], r["ref_external_id"], r["occurred_at"])
        for r in engagements
        if r["outcome"] in ENGAGING_OUTCOMES
    ]
    engaged, engaged_earlier = await repository.mark_engaged(session, tenant_id, refs)
    await day_counts.count_contacts(session, tenant_id, [], engaged)
    opt_outs = [
        (r["customer_id"], r["channel"]) for r in engagements if r["outcome"] == "unsubscribed"
    ]
    await customers_repo.opt_out(session, tenant_id, opt_outs, now)
    await consume_plans(session, tenant_id, [r for r in rows if r["kind"] == "contact"])
    await outbox.record_in(
        session, await status_events.opted_out(session, tenant_id, engagements, now), now
    )
    # the contacts engaged (first, or earlier than known) may be other customers' emails
    reached = {r["customer_id"] for r in (*engaged, *engaged_earlier)}
    await refresh.customers_changed(session, tenant_id, sorted(reached))


async def store_at_once(
    db: Database,
    tenant_id: uuid.UUID,
    items: Sequence[TouchIn],
    now: datetime,
    checked: KeyChecked | None = None,
) -> list[ItemOutcome] | None:
    """Store touches in one statement outside any transaction (that also checks the key, if
    ``checked``); None when they need one: an engagement that reaches further, a plan they
    may carry out, an Idempotency-Key to keep the answer under (the key's 401 or 403 is
    decided first)."""
    if any(_engages(t) for t in items):
        return None
    if checked is not None and idempotency.carries_key(checked.request):
        return None
    distinct, placed = _distinct(items, now)
    key = checked.key_and_roles if checked is not None else None
    async with db.driver() as driver:
        async with generic_plans(driver):
            ingested = await repository.ingest(
                driver.fetch, tenant_id, _rows(distinct), now, key=key, hold_for_plans=True
            )
        if checked is not None:
            checked.admit(ingested.key)
        if ingested.plans_held:
            return None
        await _resolve(driver.fetch, tenant_id, distinct, ingested)
    return _outcomes(placed)


def count_created(outcomes: Sequence[ItemOutcome]) -> None:
    created = Counter(
        (o.row["channel"], o.row["kind"])
        for o in outcomes
        if o.status is ItemStatus.created and o.row is not None
    )
    for (channel, kind), n in created.items():
        metrics.record_touch(channel, kind, n)


async def record_touch(
    db: Database, checked: KeyChecked, touch: TouchIn, now: datetime
) -> tuple[dict[str, Any], bool]:
    """Store one touch: the stored touch, and whether it was stored before."""
    error = future_error(touch, now, ["body"])
    if error:
        raise Invalid(error.msg, errors=[error])
    [outcome] = await save(db, checked.tenant_id, [touch], now, checked)
    duplicate = outcome.status is ItemStatus.duplicate
    if duplicate and outcome.id is None:  # an erased touch again: as sent, and no id
        assert outcome.row is not None
        return {**touch_document(outcome.row), "id": None}, True
    row: Mapping[Any, Any] | None = outcome.row
    if duplicate:
        async with db.driver() as driver:
            row = await repository.row_by_id(driver.fetch, checked.tenant_id, outcome.id)
    assert row is not None
    return touch_document(row), duplicate


async def record_batch_at_once(
    db: Database, checked: KeyChecked, raw_items: Sequence[Any], now: datetime
) -> list[ItemOutcome]:
    """Store the valid items of a batch; report every item in input order."""
    parsed = [parse_item(raw, index, now) for index, raw in enumerate(raw_items)]
    valid = [item for item in parsed if isinstance(item, TouchIn)]
    return _in_order(parsed, await save(db, checked.tenant_id, valid, now, checked))


async def record_batch(
    session: AsyncSession, tenant_id: uuid.UUID, raw_items: Sequence[Any], now: datetime
) -> list[ItemOutcome]:
    """As ``record_batch_at_once``, in the caller's session (webhooks), and committed."""
    parsed = [parse_item(raw, index, now) for index, raw in enumerate(raw_items)]
    valid = [item for item in parsed if isinstance(item, TouchIn)]
    stored = await store(session, tenant_id, valid, now)
    await session.commit()
    count_created(stored)
    return _in_order(parsed, stored)


def _in_order(
    parsed: Sequence[TouchIn | list[ErrorItem]], stored: Sequence[ItemOutcome]
) -> list[ItemOutcome]:
    remaining = iter(stored)
    return [
        next(remaining)
        if isinstance(item, TouchIn)
        else ItemOutcome(ItemStatus.rejected, errors=item)
        for item in parsed
    ]


async def save(
    db: Database,
    tenant_id: uuid.UUID,
    items: Sequence[TouchIn],
    now: datetime,
    checked: KeyChecked | None = None,
) -> list[ItemOutcome]:
    """Store valid touches, committed: in one statement if they can be, else in a
    transaction with all they change; either way the key's 401 and 403 (if ``checked``;
    the importer has no key) come first. A customer erased while the touches waited for its
    profile is gone when they look again: they are stored anew, under a new bare profile."""
    try:
        stored = await _save(db, tenant_id, items, now, checked)
    except Exception as exc:
        if not is_foreign_key_violation(exc):
            raise
        stored = await _save(db, tenant_id, items, now, checked)
    count_created(stored)
    return stored


async def _save(
    db: Database,
    tenant_id: uuid.UUID,
    items: Sequence[TouchIn],
    now: datetime,
    checked: KeyChecked | None,
) -> list[ItemOutcome]:
    stored = await store_at_once(db, tenant_id, items, now, checked)
    if stored is None:
        async with db.sessions() as session:
            if checked is not None:
                await checked.guard.full(checked.request, session)
            stored = await store(session, tenant_id, items, now)
            await session.commit()
    return stored


def touch_document(row: Mapping[Any, Any]) -> dict[str, Any]:
    """A touch as the API shows it (the stored row, or the row about to be stored)."""
    amount = row["amount"]
    return {
        "id": str(row["id"]), "customer_id": row["customer_id"], "channel": row["channel"],
        "occurred_at": format_utc(row["occurred_at"]), "kind": _value(row["kind"]),
        "direction": _value(row["direction"]), "outcome": row["outcome"],
        "category": _value(row["category"]),
        "actor": {
            "rep_id": row["actor_rep_id"], "team": row["actor_team"],
            "partner_id": row["actor_partner_id"],
        },
        "automated": row["automated"], "depth": _value(row["depth"]),
        "amount": float(amount) if amount is not None else None, "source": row["source"],
        "external_id": row["external_id"], "ref_external_id": row["ref_external_id"],
        "campaign_id": row["campaign_id"], "metadata": row["metadata"],
        "received_at": format_utc(row["received_at"]),
    }  # fmt: skip


def _value(value: Any) -> Any:
    """An enum's value (a row built from the request holds enums; a stored one, text)."""
    return getattr(value, "value", value)


async def get_touch(session: AsyncSession, tenant_id: uuid.UUID, touch_id: uuid.UUID) -> TouchRead:
    row = await repository.get(session, tenant_id, touch_id)
    if row is None:
        raise NotFound("No such touch.")
    return to_read(row)


async def list_history(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    query: repository.HistoryQuery,
    *,
    before: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[TouchRead]:
    if await customers_repo.get(session, tenant_id, query.customer_id) is None:
        raise NotFound(f"No customer {query.customer_id!r}.")
    rows = await repository.history_page(session, tenant_id, query, before=before, limit=limit)
    return [to_read(row) for row in rows]
