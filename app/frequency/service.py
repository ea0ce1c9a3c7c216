"""Frequency status: evaluate customers with the engine, and keep their schedules fresh."""

import uuid
from collections.abc import Sequence
from datetime import datetime, time
from typing import Any

from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import cadence
from app.cadence.fatigue import FOREVER
from app.clock import Clock
from app.customers import repository as customers_repo
from app.errors import NotFound
from app.frequency import activity as activity_store
from app.frequency import repository
from app.frequency.schemas import StatusRead
from app.policies import service as policies
from app.schemas import LATEST_JUDGED

# How many customers one refresh evaluates per round of queries.
REFRESH_CHUNK = 500
# A run of days, then a day, then its contacts: at most this many finer reads of a status.
MAX_REFINEMENTS = 3


def to_profile(row: RowMapping) -> cadence.Profile:
    prefs: dict[str, Any] = row["preferences"] or {}
    quiet = prefs.get("quiet_hours")
    paused = prefs.get("paused_until")
    return cadence.Profile(
        customer_id=row["customer_id"],
        created_at=row["created_at"],
        stage_entered_at=row["stage_entered_at"],
        segment=row["segment"],
        stage=row["stage"],
        market=row["market"],
        industry=row["industry"],
        owner_rep=row["owner_rep"],
        owner_team=row["owner_team"],
        timezone=row["timezone"],
        country=row["country"],
        opted_out_channels=frozenset(prefs.get("opted_out_channels") or ()),
        # a pause "for ever" (say to 9999-12-31) is held to the last instant the engine judges
        paused_until=min(datetime.fromisoformat(paused), LATEST_JUDGED) if paused else None,
        preferred_channels=tuple(prefs.get("preferred_channels") or ()),
        max_contacts_per_30d=prefs.get("max_contacts_per_30d"),
        quiet_hours=cadence.HoursRange(
            time.fromisoformat(quiet["start"]), time.fromisoformat(quiet["end"])
        )
        if quiet
        else None,
    )


async def judge_many(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    policy: cadence.Policy,
    profiles: Sequence[cadence.Profile],
    as_of: datetime,
    *,
    with_locks: bool = False,
) -> dict[str, tuple[cadence.Activity, cadence.Status]]:
    """Every profile's activity and status at ``as_of``, with a few queries for the whole set."""
    if not profiles:
        return {}
    windows = set().union(*(cadence.window_days_needed(policy, p, as_of) for p in profiles))

    async def judge(
        group: Sequence[cadence.Profile], plan: cadence.BucketPlan
    ) -> dict[str, tuple[cadence.Activity, cadence.Status]]:
        activities = await activity_store.load(
            session, tenant_id, policy, group, as_of, plan, with_locks=with_locks
        )
        judged = {}
        for profile in group:
            activity = activities[profile.customer_id]
            judged[profile.customer_id] = (
                activity,
                cadence.evaluate(policy, profile, activity, as_of),
            )
        return judged

    plan = cadence.plan_buckets(windows, as_of)
    judged = await judge(profiles, plan)
    # A cap frees inside a bucket: read its days in finer grain (a run of days day by day,
    # then a day contact by contact) and judge those customers again.
    for _ in range(MAX_REFINEMENTS):
        again = [p for p in profiles if judged[p.customer_id][1].missing_days]
        if not again:
            break
        missing = frozenset().union(*(judged[p.customer_id][1].missing_days for p in again))
        exact, split = plan.refined(missing)
        plan = cadence.plan_buckets(windows, as_of, exact_days=exact, split_days=split)
        judged |= await judge(again, plan)
    return judged


async def evaluate_many(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    policy: cadence.Policy,
    profiles: Sequence[cadence.Profile],
    as_of: datetime,
) -> dict[str, cadence.Status]:
    """Every profile's status at ``as_of``."""
    judged = await judge_many(session, tenant_id, policy, profiles, as_of)
    return {customer_id: status for customer_id, (_, status) in judged.items()}


async def judge_customer(
    session: AsyncSession, tenant_id: uuid.UUID, customer_id: str, as_of: datetime
) -> tuple[cadence.Policy, cadence.Profile, cadence.Activity, cadence.Status]:
    """One customer's status at ``as_of``, with what it was judged from."""
    row = await customers_repo.get_with_policy_version(session, tenant_id, customer_id)
    if row is None:
        raise NotFound(f"No customer {customer_id!r}.")
    policy = await policies.policy_version(session, tenant_id, row["policy_version"])
    profile = to_profile(row)
    judged = await judge_many(session, tenant_id, policy, [profile], as_of, with_locks=True)
    activity, status = judged[customer_id]
    return policy, profile, activity, status


async def customer_status(
    session: AsyncSession, tenant_id: uuid.UUID, customer_id: str, as_of: datetime
) -> StatusRead:
    *_, status = await judge_customer(session, tenant_id, customer_id, as_of)
    return to_read(customer_id, status)


def to_read(customer_id: str, status: cadence.Status) -> StatusRead:
    caps = [
        {**_fields(cap), "channels": sorted(cap.channels) if cap.channels is not None else None}
        for cap in status.caps
    ]
    return StatusRead.model_validate(
        {
            **_fields(status),
            "customer_id": customer_id,
            "reasons": [_fields(r) for r in status.reasons],
            "counts": {k: _fields(v) for k, v in status.counts.items()},
            "caps": caps,
            "targets": [_fields(t) for t in status.targets],
            "fatigue": _fields(status.fatigue),
            "next_follow_up": _fields(status.next_follow_up),
        }
    )


def _fields(obj: Any) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in obj.__slots__}


def schedule_row(
    policy: cadence.Policy, profile: cadence.Profile, status: cadence.Status, now: datetime
) -> dict[str, Any]:
    follow_up = status.next_follow_up
    return {
        "customer_id": profile.customer_id,
        "policy_version": policy.version,
        "rule": status.rule,
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


async def refresh_schedules(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    customer_ids: Sequence[str],
    now: datetime,
    *,
    skip_busy: bool = False,
) -> None:
    """Recompute and store the schedules of these customers (in the caller's transaction,
    holding their rows so concurrent writers cannot store a verdict that misses a touch)."""
    rows = await repository.lock_customers(session, tenant_id, customer_ids, skip_locked=skip_busy)
    if not rows:
        return
    policy = await policies.policy_version(session, tenant_id, rows[0]["policy_version"])
    for start in range(0, len(rows), REFRESH_CHUNK):
        profiles = [to_profile(row) for row in rows[start : start + REFRESH_CHUNK]]
        statuses = await evaluate_many(session, tenant_id, policy, profiles, now)
        schedule = [schedule_row(policy, p, statuses[p.customer_id], now) for p in profiles]
        await repository.upsert_schedules(session, tenant_id, schedule)


async def customers_changed(
    session: AsyncSession, tenant_id: uuid.UUID, customer_ids: Sequence[str], now: datetime
) -> None:
    """Something a verdict depends on changed for these customers in the caller's
    transaction (a profile, a reservation): their schedules must follow."""
    await refresh_schedules(session, tenant_id, customer_ids, now)


# Stale schedules are refreshed in rounds of this many (each its own transaction) before a
# list answers, until none is left in its scope.
LAZY_REFRESH_CHUNK = 5000


async def refresh_stale(
    session: AsyncSession, tenant_id: uuid.UUID, scope: repository.Scope, now: datetime
) -> None:
    """Bring the schedules a list is about to read up to date with what /status says now.

    Customers a writer holds are skipped (the writer refreshes them itself); they may come
    back from the query, so a round that finds nothing new ends the refresh."""
    policy = await policies.active_policy(session, tenant_id)
    tried: set[str] = set()
    while True:
        stale = await repository.stale_in_scope(
            session, tenant_id, scope, policy.version, now, LAZY_REFRESH_CHUNK
        )
        new = [customer_id for customer_id in stale if customer_id not in tried]
        if not new:
            return
        await refresh_schedules(session, tenant_id, new, now, skip_busy=True)
        await session.commit()
        tried.update(new)
        if len(stale) < LAZY_REFRESH_CHUNK:
            return


async def follow_ups(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    scope: repository.Scope,
    *,
    now: datetime,
    as_of: datetime,
    due_before: datetime | None,
    status: str | None,
    after: tuple[bool, float, datetime, str] | None,
    limit: int,
) -> list[RowMapping]:
    """The queue at ``as_of`` (a later page's pinned instant); schedules are refreshed at
    ``now``, never at the cursor's instant, so a stored schedule is always current."""
    await refresh_stale(session, tenant_id, scope, now)
    cutoff = max(as_of, due_before) if due_before is not None else as_of
    return await repository.follow_up_page(
        session, tenant_id, scope, now=as_of, cutoff=cutoff, status=status, after=after, limit=limit
    )


async def statuses(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    scope: repository.Scope,
    *,
    now: datetime,
    status: str | None,
    after: str | None,
    limit: int,
) -> list[RowMapping]:
    await refresh_stale(session, tenant_id, scope, now)
    return await repository.status_page(
        session, tenant_id, scope, now=now, status=status, after=after, limit=limit
    )


async def recompute_tenant(
    sessionmaker: async_sessionmaker[AsyncSession], tenant_id: uuid.UUID, clock: Clock
) -> None:
    """Refresh every schedule of a tenant in batches, each its own transaction."""
    after: str | None = None
    while True:
        async with sessionmaker() as session:
            ids = await repository.tenant_customer_ids(
                session, tenant_id, after=after, limit=REFRESH_CHUNK
            )
            if not ids:
                return
            await refresh_schedules(session, tenant_id, ids, clock.now(), skip_busy=True)
            await session.commit()
        after = ids[-1]
