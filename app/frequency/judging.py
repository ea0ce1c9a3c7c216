"""Judging customers with the engine: their profiles and activity read in a few set-based
statements, whatever their number, and handed to the pure core."""

import asyncio
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, time
from typing import Any

from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from app import cadence
from app.customers import repository as customers_repo
from app.db import Database, Fetch, driver_fetch
from app.errors import NotFound
from app.frequency import activity as activity_store
from app.policies import service as policies
from app.schemas import LATEST_JUDGED

# Customers judged between two turns of the event loop: a round of hundreds must not hold
# up the requests that come meanwhile (tens of milliseconds at most).
YIELD_EVERY = 32
# A run of days, then a day, then its contacts: at most this many finer reads of a status.
MAX_REFINEMENTS = 3


def to_profile(row: Mapping[Any, Any]) -> cadence.Profile:
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
        rfm_segment=row["rfm_segment"],
    )


async def judge_many(
    fetch: Fetch,
    tenant_id: uuid.UUID,
    policy: cadence.Policy,
    profiles: Sequence[cadence.Profile],
    as_of: datetime,
) -> dict[str, tuple[cadence.Activity, cadence.Status]]:
    """Every profile's activity and status at ``as_of``, with a few queries for the whole set."""
    if not profiles:
        return {}
    windows = set().union(*(cadence.window_days_needed(policy, p, as_of) for p in profiles))

    async def judge(
        group: Sequence[cadence.Profile], plan: cadence.BucketPlan
    ) -> dict[str, tuple[cadence.Activity, cadence.Status]]:
        activities = await activity_store.load(fetch, tenant_id, policy, group, as_of, plan)
        judged = {}
        for n, profile in enumerate(group, start=1):
            if n % YIELD_EVERY == 0:
                await asyncio.sleep(0)  # let the requests waiting meanwhile be served
            activity = activities[profile.customer_id]
            judged[profile.customer_id] = (
                activity,
                cadence.evaluate(policy, profile, activity, as_of),
            )
        return judged

    plan = cadence.first_plan(windows, as_of)
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


async def policy_of(db: Database, tenant_id: uuid.UUID, version: int) -> cadence.Policy:
    """The engine's policy of a version: parsed once per process, read when first needed."""
    if (policy := policies.known_policy(tenant_id, version)) is not None:
        return policy
    async with db.read_sessions() as session:
        return await policies.policy_version(session, tenant_id, version)


async def judge_customer(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    customer_id: str,
    as_of: datetime,
    row: RowMapping | None = None,
) -> tuple[cadence.Policy, cadence.Profile, cadence.Activity, cadence.Status]:
    """One customer's status at ``as_of``, judged live, with what it was judged from
    (``row``: the profile with its policy version, if the caller holds it already)."""
    if row is None:
        row = await customers_repo.get_with_policy_version(session, tenant_id, customer_id)
    if row is None:
        raise NotFound(f"No customer {customer_id!r}.")
    policy = await policies.policy_version(session, tenant_id, row["policy_version"])
    profile = to_profile(row)
    judged = await judge_many(await driver_fetch(session), tenant_id, policy, [profile], as_of)
    activity, status = judged[customer_id]
    return policy, profile, activity, status


async def judge_customers(
    session: AsyncSession, tenant_id: uuid.UUID, customer_ids: Sequence[str], as_of: datetime
) -> dict[str, cadence.Status]:
    """Several customers' statuses at ``as_of``, judged live in the session's transaction
    (what it wrote counted) from one read of their profiles and one of their activity."""
    fetch = await driver_fetch(session)
    rows = await customers_repo.profiles_with_policy_version(
        fetch, tenant_id, sorted(set(customer_ids))
    )
    if not rows:
        return {}
    policy = await policies.policy_version(session, tenant_id, rows[0]["policy_version"])
    judged = await judge_many(fetch, tenant_id, policy, [to_profile(r) for r in rows], as_of)
    return {customer_id: status for customer_id, (_, status) in judged.items()}
