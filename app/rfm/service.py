"""RFM snapshots: scored in SQL over the tenant's population, recomputed on demand and, once
an hour at most, when a purchase or a policy came since."""

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.cadence.rfm import OUTSIDE, SEGMENT_NAMES
from app.clock import Clock
from app.db import Database, Fetch, driver_fetch
from app.errors import NotFound
from app.pagination import PageParams, encode_cursor
from app.policies import repository as policies_repo
from app.policies import service as policies
from app.rfm import repository
from app.rfm.schemas import CustomerRfm, RfmSummary, SegmentTotal
from app.schemas import Page, RfmSegment

# A snapshot this old is recomputed by the service itself once something it scores changed.
STALE_AFTER = timedelta(hours=1)
DUE_PER_ROUND = 10


async def recompute(session: AsyncSession, tenant_id: uuid.UUID, now: datetime) -> RfmSummary:
    """Score the tenant's buyers now under its active policy's window, store the snapshot
    (marking the customers whose segment changed, for their rules), and summarise it."""
    version = await policies_repo.active_version(session, tenant_id)
    policy = await policies.policy_version(session, tenant_id, version)
    fetch = await driver_fetch(session)
    await repository.recompute(fetch, tenant_id, now, policy.rfm_window_days)
    snapshot = await repository.snapshot(fetch, tenant_id)
    assert snapshot is not None  # just stored
    summary = await _summarise(fetch, tenant_id, snapshot)
    await session.commit()
    return summary


async def _snapshot(
    session: AsyncSession, tenant_id: uuid.UUID, now: datetime
) -> tuple[Fetch, Mapping[str, Any]]:
    """The tenant's snapshot (scored now if it had none yet), and a fetch to read on."""
    fetch = await driver_fetch(session)
    if (snapshot := await repository.snapshot(fetch, tenant_id)) is None:
        await recompute(session, tenant_id, now)
        fetch = await driver_fetch(session)
        snapshot = await repository.snapshot(fetch, tenant_id)
        assert snapshot is not None  # just stored
    return fetch, snapshot


async def summary(session: AsyncSession, tenant_id: uuid.UUID, now: datetime) -> RfmSummary:
    fetch, snapshot = await _snapshot(session, tenant_id, now)
    return await _summarise(fetch, tenant_id, snapshot)


async def _summarise(fetch: Fetch, tenant_id: uuid.UUID, snapshot: Mapping[str, Any]) -> RfmSummary:
    totals = {row["segment"]: row for row in await repository.segment_totals(fetch, tenant_id)}
    totals[OUTSIDE] = {"customers": snapshot["outside"], "monetary": 0}
    return RfmSummary(
        as_of=snapshot["as_of"],
        population=snapshot["population"],
        segments=[
            SegmentTotal(
                segment=RfmSegment(name),
                customers=totals[name]["customers"] if name in totals else 0,
                monetary=float(totals[name]["monetary"]) if name in totals else 0.0,
            )
            for name in SEGMENT_NAMES
        ],
    )


def _read(row: Mapping[str, Any], as_of: datetime) -> CustomerRfm:
    monetary = row["monetary"]
    return CustomerRfm(
        customer_id=row["customer_id"],
        as_of=as_of,
        recency_days=row["recency_days"],
        frequency=row["frequency"],
        monetary=float(monetary) if monetary is not None else None,
        r=row["r"],
        f=row["f"],
        m=row["m"],
        segment=RfmSegment(row["segment"]),
    )


async def customer_rfm(
    session: AsyncSession, tenant_id: uuid.UUID, customer_id: str, now: datetime
) -> CustomerRfm:
    fetch, snapshot = await _snapshot(session, tenant_id, now)
    row = await repository.customer_scores(fetch, tenant_id, customer_id)
    if row is None:
        raise NotFound(f"No customer {customer_id!r}.")
    return _read(row, snapshot["as_of"])


async def list_rfm(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    segment: RfmSegment | None,
    page: PageParams,
    now: datetime,
) -> Page[CustomerRfm]:
    """The population (or one segment, or ``none``: the customers outside it) in id order."""
    fetch, snapshot = await _snapshot(session, tenant_id, now)
    rows = await repository.page(
        fetch, tenant_id, segment.value if segment else None, page.after_text(), page.limit + 1
    )
    items = [_read(row, snapshot["as_of"]) for row in rows[: page.limit]]
    more = len(rows) > page.limit
    cursor = encode_cursor([items[-1].customer_id]) if more else None
    return Page[CustomerRfm](items=items, next_cursor=cursor)


async def recompute_due(db: Database, clock: Clock) -> int:
    """Recompute the snapshots over an hour old that a purchase or a policy came after;
    how many."""
    async with db.sessions() as session:
        fetch = await driver_fetch(session)
        due = await repository.due_tenants(fetch, clock.now() - STALE_AFTER, DUE_PER_ROUND)
    for tenant_id in due:
        async with db.sessions() as session:
            await recompute(session, tenant_id, clock.now())
    return len(due)
