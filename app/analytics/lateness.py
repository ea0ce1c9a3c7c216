"""Whether follow-ups were late (compliance's ``late``): a follow-up is late when it occurred
at or after the ``overdue_at`` of the status its customer had an instant before it.

The refresher reads that status off the stored one when a follow-up comes in order
(``app.facts``). What it cannot (a history loaded in bulk, the follow-ups after a contact
that came in late) is judged here with the engine, as ``/status?as_of=`` an instant before
each would: in the background by every serving process, and by a report for any follow-up
of its range still unjudged when it is asked."""

import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.analytics.schemas import Window
from app.background import Periodic
from app.customers import repository as customers_repo
from app.db import Database, Fetch, driver_fetch
from app.facts import repository as facts
from app.frequency.judging import judge_many, policy_of, to_profile

JUST_BEFORE = timedelta(microseconds=1)
BATCH = 500  # follow-ups a background round judges per tenant
POLL_SECONDS = 2.0


def may_be_late(follow_up: Mapping[Any, Any], soonest: timedelta) -> bool:
    """Whether a follow-up can be late at all. The ``overdue_at`` of a status is the
    rule's ``overdue_after_days`` (local or business days) after the last contact the rule
    counts, or later, and that contact is never before the last personal one: a follow-up
    less than ``soonest`` (the policy's fewest overdue days, less a day for clock changes)
    after the customer's last personal contact is on time, whatever the engine would add."""
    before = follow_up["personal_before"]
    return before is None or follow_up["occurred_at"] >= before + soonest


def _by_instant(
    follow_ups: Sequence[Mapping[str, Any]],
) -> dict[datetime, list[Mapping[str, Any]]]:
    at: defaultdict[datetime, list[Mapping[str, Any]]] = defaultdict(list)
    for row in follow_ups:
        at[row["occurred_at"]].append(row)
    return dict(sorted(at.items()))


async def judge(
    fetch: Fetch, db: Database, tenant_id: uuid.UUID, unjudged: Sequence[Mapping[str, Any]]
) -> int:
    """Judge these follow-ups (``facts.UNJUDGED`` rows) and keep their lateness, in the
    caller's transaction: each that may be late by the engine an instant before it, the
    customers with a follow-up at one instant together. Answers how many were judged (a
    customer erased meanwhile has nothing left to judge)."""
    ids = sorted({row["customer_id"] for row in unjudged})
    rows = await customers_repo.profiles_with_policy_version(fetch, tenant_id, ids)
    if not rows:
        return 0
    profiles = {row["customer_id"]: to_profile(row) for row in rows}
    policy = await policy_of(db, tenant_id, rows[0]["policy_version"])
    soonest = timedelta(days=min(rule.overdue_after_days for rule in policy.rules) - 1)
    verdicts: list[tuple[uuid.UUID, str, bool]] = []
    doubtful = []
    for row in (row for row in unjudged if row["customer_id"] in profiles):
        if may_be_late(row, soonest):
            doubtful.append(row)
        else:
            verdicts.append((row["touch_id"], row["version"], False))
    for instant, follow_ups in _by_instant(doubtful).items():
        group = [profiles[row["customer_id"]] for row in follow_ups]
        judged = await judge_many(fetch, tenant_id, policy, group, instant - JUST_BEFORE)
        for row in follow_ups:
            overdue_at = judged[row["customer_id"]][1].next_follow_up.overdue_at
            late = overdue_at is not None and instant >= overdue_at
            verdicts.append((row["touch_id"], row["version"], late))
    await facts.store_judged(fetch, tenant_id, verdicts)
    return len(verdicts)


async def judge_range(
    session: AsyncSession, db: Database, tenant_id: uuid.UUID, window: Window
) -> None:
    """Judge the follow-ups of a report's range that are not judged yet (in the session's
    transaction)."""
    fetch = await driver_fetch(session)
    unjudged = await facts.unjudged_follow_ups(fetch, tenant_id, window.since, window.until)
    if unjudged:
        await judge(fetch, db, tenant_id, unjudged)


async def judge_tenant(db: Database, tenant_id: uuid.UUID) -> int:
    """Judge ``BATCH`` of the tenant's follow-ups not judged yet, unless another process is
    judging its follow-ups. Answers how many were judged."""
    async with db.driver() as driver, driver.transaction():
        if not await facts.take_judging(driver.fetch, tenant_id):
            return 0
        pending = await facts.pending_follow_ups(driver.fetch, tenant_id, BATCH)
        return await judge(driver.fetch, db, tenant_id, pending) if pending else 0


async def judge_pending(db: Database) -> int:
    """One background round: a batch of each tenant with follow-ups not judged yet."""
    async with db.driver() as driver:
        tenants = await facts.tenants_with_unjudged(driver.fetch)
    return sum([await judge_tenant(db, tenant_id) for tenant_id in tenants])


def lateness_judge(db: Database) -> Periodic:
    """Rounds until nothing is left to judge, every ``POLL_SECONDS``."""
    periodic: Periodic

    async def rounds() -> None:
        while not periodic.stopping and await judge_pending(db):
            pass

    periodic = Periodic("lateness", rounds, POLL_SECONDS)
    return periodic
