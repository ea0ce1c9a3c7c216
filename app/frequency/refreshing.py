"""Storing fresh verdicts: the schedules (for queues and lists) and status documents (for
reads) of a set of customers, judged in chunks, the next chunk's reads under way while one
is judged, and stored in one short transaction that settles their refresh marks."""

import asyncio
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from app import cadence
from app.cadence.fatigue import FOREVER
from app.customers import repository as customers_repo
from app.db import Database, Fetch
from app.events import outbox
from app.facts import repository as facts
from app.frequency import documents, repository, status_events
from app.frequency.judging import judge_many, policy_of, to_profile
from app.frequency.list_queries import TENANT_STALE, ListScope
from app.refresh import repository as marks

# A mark a refresher claimed may be taken up by another after this (it died mid-round).
CLAIM = timedelta(seconds=60)
CHUNK = 250  # customers judged from one read
READS_AHEAD = 2  # chunks read at once: one judged while the next one's rows come in
# Stale verdicts are refreshed in rounds of this many before a list answers.
LAZY_REFRESH_CHUNK = 2000


def schedule_row(
    policy: cadence.Policy, profile: cadence.Profile, status: cadence.Status, now: datetime
) -> dict[str, Any]:
    follow_up = status.next_follow_up
    return {
        "customer_id": profile.customer_id,
        "policy_version": policy.version,
        "rule": status.rule,
        "status": status.status.value,
        "due_at": follow_up.due_at,
        "overdue_at": follow_up.overdue_at,
        "never_contacted": follow_up.counted_from is None,
        "suppressed_until": status.suppressed_until,
        # Over-contacted with no known end holds until the next recheck, or for good.
        "over_until": status.over_until
        or (FOREVER if status.status is cadence.StatusCode.over_contacted else None),
        "recheck_at": status.recheck_at,
        "weight": float(policy.segment_weights.get(profile.segment or "", 1)),
        "owner_rep": profile.owner_rep,
        "owner_team": profile.owner_team,
        "segment": profile.segment,
        "stage": profile.stage,
        "refreshed_at": now,
    }


def document_row(
    customer_id: str, activity: cadence.Activity, status: cadence.Status, now: datetime
) -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "document": documents.encode(customer_id, status),
        "facts": documents.encode_facts(activity),
        "computed_at": now,
        "valid_until": status.valid_until,
    }


Verdicts = tuple[list[dict[str, Any]], list[dict[str, Any]]]  # schedules, documents


async def judge(
    db: Database, tenant_id: uuid.UUID, seqs: Mapping[str, int], now: datetime
) -> Verdicts:
    """The rows to store for these customers, judged at ``now``, each accounting for the
    refresh mark of the seq given (an older one never overwrites a newer)."""
    async with db.driver() as driver:
        rows = await customers_repo.profiles_with_policy_version(
            driver.fetch, tenant_id, list(seqs)
        )
    if not rows:
        return [], []
    policy = await policy_of(db, tenant_id, rows[0]["policy_version"])
    ahead = asyncio.Semaphore(READS_AHEAD)

    async def chunk(profiles: Sequence[cadence.Profile]) -> Verdicts:
        async with ahead, db.driver() as driver:
            judged = await judge_many(driver.fetch, tenant_id, policy, profiles, now)
        schedules, docs = [], []
        for profile in profiles:
            activity, status = judged[profile.customer_id]
            seq = {"computed_seq": seqs[profile.customer_id]}
            schedules.append({**schedule_row(policy, profile, status, now), **seq})
            docs.append({**document_row(profile.customer_id, activity, status, now), **seq})
        return schedules, docs

    profiles = [to_profile(row) for row in rows]
    parts = await asyncio.gather(
        *(chunk(profiles[i : i + CHUNK]) for i in range(0, len(profiles), CHUNK))
    )
    return [r for s, _ in parts for r in s], [r for _, d in parts for r in d]


async def store(
    fetch: Fetch,
    tenant_id: uuid.UUID,
    verdicts: Verdicts,
    settled: Mapping[str, int] | None = None,
) -> None:
    """Store judged verdicts and (``settled``) remove the marks they account for, recording
    the customers who enter a status an endpoint takes events of. Every
    path that stores verdicts locks schedules, then documents, then marks, each in customer
    order: concurrent refreshers wait for one another, never deadlock."""
    schedules, docs = verdicts
    entered = await status_events.entered_statuses(fetch, tenant_id, schedules, docs)
    await repository.upsert_schedules(fetch, tenant_id, schedules)
    await repository.upsert_documents(fetch, tenant_id, docs)
    if settled:
        await marks.settle(fetch, tenant_id, settled)
    if entered:
        await outbox.record(fetch, entered, schedules[0]["refreshed_at"])


async def refresh(
    db: Database,
    tenant_id: uuid.UUID,
    claimed: Sequence[marks.Claimed],
    now: datetime,
    *,
    count_facts: bool = True,
) -> None:
    """Store fresh verdicts of marked customers, count their contact facts again from where
    their marks say (or, without ``count_facts``, leave that to the background refresher),
    and remove the marks they account for."""
    seqs = {c.customer_id: c.seq for c in claimed}
    since = {c.customer_id: c.facts_from for c in claimed if c.facts_from is not None}
    verdicts = await judge(db, tenant_id, seqs, now)
    async with db.driver() as driver, driver.transaction():
        if count_facts:
            await facts.refresh(driver.fetch, tenant_id, since)
        else:
            await facts.defer(driver.fetch, tenant_id, since)
        await store(driver.fetch, tenant_id, verdicts, seqs)


async def count_pending_facts(db: Database, limit: int, tenant_id: uuid.UUID | None = None) -> int:
    """Count the contact facts lists left pending, of up to ``limit`` customers (of one
    tenant, if given), in one transaction; how many were counted."""
    async with db.driver() as driver, driver.transaction():
        return await facts.count_pending(driver.fetch, limit, tenant_id)


async def fold_outcome_rollups(db: Database, limit: int) -> int:
    """Fold up to ``limit`` outcome deltas into the rollups, in one transaction; how many."""
    async with db.driver() as driver, driver.transaction():
        return await facts.fold_rollups(driver.fetch, limit)


async def tenant_is_stale(db: Database, tenant_id: uuid.UUID, now: datetime) -> bool:
    """Whether some customer of the tenant is marked or past its recheck time, or has facts
    left pending: one statement, so that a report in the steady state pays no more."""
    async with db.driver() as driver:
        return bool(await driver.fetchval(TENANT_STALE, tenant_id, now))


async def refresh_stale(
    db: Database,
    tenant_id: uuid.UUID,
    scope: ListScope,
    now: datetime,
    *,
    count_facts: bool = False,
) -> None:
    """Bring the schedules a list is about to read up to date with what /status says now:
    the marked customers of its scope (their marks claimed first, so a write meanwhile is
    not lost), and those whose recheck time has passed. Their contact facts are left to the
    background refresher unless ``count_facts`` (a report counts them; a list reads no facts,
    and counting them would take as long as judging). The background refresher of this
    process waits meanwhile: both would take the one core."""
    done: set[str] = set()
    async with db.refreshing:
        while True:
            async with db.sessions() as session:
                marked = await repository.marked_in_scope(
                    session, tenant_id, scope, LAZY_REFRESH_CHUNK
                )
                stale = await repository.expired_in_scope(
                    session, tenant_id, scope, now, LAZY_REFRESH_CHUNK
                )
                claimed = await marks.claim_these(session, tenant_id, list(marked), now + CLAIM)
                await session.commit()
            expired = [marks.Claimed(tenant_id, id_, seq) for id_, seq in stale.items()]
            todo = {c.customer_id: c for c in (*expired, *claimed) if c.customer_id not in done}
            if not todo:
                return
            await refresh(db, tenant_id, list(todo.values()), now, count_facts=count_facts)
            done.update(todo)
