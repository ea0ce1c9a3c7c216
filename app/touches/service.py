"""Touch ingestion (single, batch, webhook, import) and history reads."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from app import metrics
from app.conflicts.consumption import consume_plans
from app.customers import repository as customers_repo
from app.errors import ErrorItem, Invalid, NotFound, validation_items
from app.frequency import ingest as day_counts
from app.refresh import service as refresh
from app.touches import repository
from app.touches.schemas import ItemStatus, TouchIn, TouchRead, TouchStored

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


def to_row(touch: TouchIn, now: datetime) -> dict[str, Any]:
    return {
        **touch.model_dump(exclude={"actor"}),
        "id": uuid.uuid4(),
        "actor_rep_id": touch.actor.rep_id,
        "actor_team": touch.actor.team,
        "actor_partner_id": touch.actor.partner_id,
        "received_at": now,
    }


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


async def store(
    session: AsyncSession, tenant_id: uuid.UUID, items: Sequence[TouchIn], now: datetime
) -> list[ItemOutcome]:
    """Store valid touches, each once: a repeated (source, external_id) is a duplicate."""
    firsts: dict[tuple[str, str], ItemOutcome] = {}
    distinct: list[ItemOutcome] = []
    placed: list[tuple[ItemOutcome, bool]] = []  # each item's outcome, and if it repeats one
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
    if distinct:
        await _insert(session, tenant_id, distinct, now)
    return [
        ItemOutcome(ItemStatus.duplicate, outcome.id, row=outcome.row) if repeat else outcome
        for outcome, repeat in placed
    ]


async def _insert(
    session: AsyncSession, tenant_id: uuid.UUID, outcomes: list[ItemOutcome], now: datetime
) -> None:
    """Insert; a touch the unique key refuses becomes a duplicate of the row stored before."""
    rows = [outcome.row for outcome in outcomes if isinstance(outcome.row, dict)]
    await customers_repo.ensure_exist(session, tenant_id, [r["customer_id"] for r in rows], now)
    inserted = await repository.insert_new(session, tenant_id, rows)
    new = [{**r, "engaged": inserted[r["id"]]} for r in rows if r["id"] in inserted]
    await _on_stored(session, tenant_id, new, now)
    refused = [o for o in outcomes if o.id not in inserted]
    if not refused:
        return
    keys = [(o.row["source"], o.row["external_id"]) for o in refused if o.row is not None]
    stored = await repository.find_by_keys(session, tenant_id, keys)
    for outcome, key in zip(refused, keys, strict=True):
        outcome.status = ItemStatus.duplicate
        outcome.row = stored[key]
        outcome.id = stored[key]["id"]


ENGAGING_OUTCOMES = frozenset({"opened", "clicked"})


async def _on_stored(
    session: AsyncSession, tenant_id: uuid.UUID, rows: Sequence[dict[str, Any]], now: datetime
) -> None:
    """What new touches change besides their rows, in their transaction: the contacts they
    engage, the day counts, opt-outs, the plans they carry out, and refresh marks (the
    verdicts themselves are refreshed in bulk, off the request path)."""
    if not rows:
        return
    contacts = [r for r in rows if r["kind"] == "contact"]
    engagements = [r for r in rows if r["kind"] == "engagement"]
    refs = [
        (r["source"], r["ref_external_id"], r["occurred_at"])
        for r in engagements
        if r["outcome"] in ENGAGING_OUTCOMES and r["ref_external_id"]
    ]
    engaged, engaged_earlier = await repository.mark_engaged(session, tenant_id, refs)
    await day_counts.count_contacts(session, tenant_id, contacts, engaged)
    opt_outs = [
        (r["customer_id"], r["channel"]) for r in engagements if r["outcome"] == "unsubscribed"
    ]
    await customers_repo.opt_out(session, tenant_id, opt_outs, now)
    await consume_plans(session, tenant_id, contacts)
    customers = {r["customer_id"] for r in rows} | {
        r["customer_id"] for r in (*engaged, *engaged_earlier)
    }
    await refresh.customers_changed(session, tenant_id, sorted(customers))


def count_created(outcomes: Sequence[ItemOutcome]) -> None:
    for outcome in outcomes:
        if outcome.status is ItemStatus.created and outcome.row is not None:
            metrics.record_touch(outcome.row["channel"], outcome.row["kind"])


async def record_touch(
    session: AsyncSession, tenant_id: uuid.UUID, touch: TouchIn, now: datetime
) -> TouchStored:
    error = future_error(touch, now, ["body"])
    if error:
        raise Invalid(error.msg, errors=[error])
    [outcome] = await store(session, tenant_id, [touch], now)
    await session.commit()
    count_created([outcome])
    assert outcome.row is not None
    return TouchStored(
        **to_read(outcome.row).model_dump(), duplicate=outcome.status is ItemStatus.duplicate
    )


async def record_batch(
    session: AsyncSession, tenant_id: uuid.UUID, raw_items: Sequence[Any], now: datetime
) -> list[ItemOutcome]:
    """Store the valid items of a batch; report every item in input order."""
    parsed = [parse_item(raw, index, now) for index, raw in enumerate(raw_items)]
    valid = [item for item in parsed if isinstance(item, TouchIn)]
    stored = iter(await store(session, tenant_id, valid, now))
    await session.commit()
    outcomes = [
        next(stored) if isinstance(item, TouchIn) else ItemOutcome(ItemStatus.rejected, errors=item)
        for item in parsed
    ]
    count_created(outcomes)
    return outcomes


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
