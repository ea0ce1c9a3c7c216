"""Frequency status: evaluate customers with the engine, and keep their schedules fresh."""

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, time, timedelta
from typing import Any

import orjson
from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from app import cadence
from app.auth import KeyChecked
from app.cadence.fatigue import FOREVER
from app.customers import repository as customers_repo
from app.db import Database
from app.errors import NotFound
from app.frequency import activity as activity_store
from app.frequency import documents, list_queries, repository
from app.policies import service as policies
from app.refresh import repository as marks
from app.schemas import LATEST_JUDGED

# How many customers one refresh evaluates per round of queries.
REFRESH_CHUNK = 500
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
    )


async def judge_many(
    session: AsyncSession,
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
        activities = await activity_store.load(session, tenant_id, policy, group, as_of, plan)
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
    judged = await judge_many(session, tenant_id, policy, [profile], as_of)
    activity, status = judged[customer_id]
    return policy, profile, activity, status


async def read_status(
    db: Database, checked: KeyChecked, customer_id: str, as_of: datetime, now: datetime
) -> bytes:
    """The status document at ``as_of``. At the current instant, the key and the stored
    document come in one statement; a customer marked since, or whose document time has
    made untrue, and any other ``as_of``, is judged live."""
    async with db.driver() as driver:
        key = await repository.key_and_document(
            driver, checked.tenant_id, checked.credentials.key_hash, customer_id, now
        )
    checked.admit(key)
    if as_of == now and key is not None and key["document"] is not None:
        return documents.at_instant(key["document"], now)
    async with db.read_sessions() as session:
        *_, status = await judge_customer(session, checked.tenant_id, customer_id, as_of)
    return documents.at_instant(documents.encode(customer_id, status), as_of)


async def lookup_statuses(
    db: Database, tenant_id: uuid.UUID, customer_ids: Sequence[str], as_of: datetime, now: datetime
) -> bytes:
    """The status documents of many customers, for a list view: the stored ones servable at
    the current instant, the rest judged live together."""
    async with db.driver() as driver:
        stored = await repository.documents_of(driver, tenant_id, customer_ids, now)
    if as_of != now:
        stored = dict.fromkeys(stored)
    live = [customer_id for customer_id, document in stored.items() if document is None]
    async with db.read_sessions() as session:
        rows = await customers_repo.with_policy_version(session, tenant_id, live)
        if rows:
            policy = await policies.policy_version(session, tenant_id, rows[0]["policy_version"])
            statuses = await evaluate_many(
                session, tenant_id, policy, [to_profile(r) for r in rows], as_of
            )
            stored |= {cid: documents.encode(cid, status) for cid, status in statuses.items()}
    found = [
        documents.at_instant(document, as_of)
        for customer_id in customer_ids
        if (document := stored.get(customer_id)) is not None
    ]
    not_found = [c for c in customer_ids if c not in stored]
    return b'{"items":[' + b",".join(found) + b'],"not_found":' + orjson.dumps(not_found) + b"}"


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


async def store_verdicts(
    session: AsyncSession, tenant_id: uuid.UUID, seqs: Mapping[str, int], now: datetime
) -> None:
    """Judge these customers at ``now`` and store their schedules and status documents,
    each accounting for the refresh mark of the seq given (an older one never overwrites
    a newer)."""
    rows = await customers_repo.with_policy_version(session, tenant_id, list(seqs))
    if not rows:
        return
    policy = await policies.policy_version(session, tenant_id, rows[0]["policy_version"])
    for start in range(0, len(rows), REFRESH_CHUNK):
        profiles = [to_profile(row) for row in rows[start : start + REFRESH_CHUNK]]
        judged = await judge_many(session, tenant_id, policy, profiles, now)
        schedules, docs = [], []
        for profile in profiles:
            activity, status = judged[profile.customer_id]
            seq = {"computed_seq": seqs[profile.customer_id]}
            schedules.append({**schedule_row(policy, profile, status, now), **seq})
            docs.append({**document_row(profile.customer_id, activity, status, now), **seq})
        await repository.upsert_schedules(session, tenant_id, schedules)
        await repository.upsert_documents(session, tenant_id, docs)


async def refresh(
    session: AsyncSession, tenant_id: uuid.UUID, seqs: Mapping[str, int], now: datetime
) -> None:
    """Store fresh verdicts of marked customers (id -> the seq of the mark seen) and remove
    the marks they account for; the caller commits."""
    await store_verdicts(session, tenant_id, seqs, now)
    await marks.settle(session, tenant_id, dict(seqs))


# A mark a refresher claimed may be taken up by another after this (it died mid-round).
CLAIM = timedelta(seconds=60)
# Stale verdicts are refreshed in rounds of this many (each its own transaction) before a
# list answers, until none is left in its scope.
LAZY_REFRESH_CHUNK = 2000


async def refresh_stale(
    session: AsyncSession, tenant_id: uuid.UUID, scope: repository.Scope, now: datetime
) -> None:
    """Bring the schedules a list is about to read up to date with what /status says now:
    the marked customers of its scope (their marks claimed first, so a write meanwhile is
    not lost), and those whose recheck time has passed."""
    done: set[str] = set()
    while True:
        marked = await repository.marked_in_scope(session, tenant_id, scope, LAZY_REFRESH_CHUNK)
        stale = await repository.expired_in_scope(
            session, tenant_id, scope, now, LAZY_REFRESH_CHUNK
        )
        claimed = await marks.claim_these(session, tenant_id, list(marked), now + CLAIM)
        await session.commit()
        todo = {c: seq for c, seq in (stale | claimed).items() if c not in done}
        if not todo:
            return
        await refresh(session, tenant_id, todo, now)
        await session.commit()
        done.update(todo)


async def work_queue(
    db: Database,
    checked: KeyChecked,
    scope: list_queries.ListScope,
    *,
    now: datetime,
    as_of: datetime,
    due_before: datetime | None,
    status: str | None,
    after: list_queries.QueueCursor | None,
    limit: int,
) -> list[Mapping[str, Any]]:
    """The queue at ``as_of`` (a later page's pinned instant; verdicts are refreshed at
    ``now``, never at the cursor's instant)."""
    cutoff = max(as_of, due_before) if due_before is not None else as_of

    async def page(driver: Any) -> list[Mapping[str, Any]]:
        return await list_queries.queue_page(
            driver, checked.tenant_id, checked.credentials.key_hash, scope, as_of=as_of,
            cutoff=cutoff, now=now, status=status, after=after, limit=limit,
        )  # fmt: skip

    return await _fresh_page(db, checked, scope, now, page)


async def statuses(
    db: Database,
    checked: KeyChecked,
    scope: list_queries.ListScope,
    *,
    now: datetime,
    status: str | None,
    after: str | None,
    limit: int,
) -> list[Mapping[str, Any]]:
    async def page(driver: Any) -> list[Mapping[str, Any]]:
        return await list_queries.status_page(
            driver, checked.tenant_id, checked.credentials.key_hash, scope, now=now,
            status=status, after=after, limit=limit,
        )  # fmt: skip

    return await _fresh_page(db, checked, scope, now, page)


async def _fresh_page(
    db: Database,
    checked: KeyChecked,
    scope: list_queries.ListScope,
    now: datetime,
    page: Callable[[Any], Awaitable[list[Mapping[str, Any]]]],
) -> list[Mapping[str, Any]]:
    """A list's page, read with its key in one statement that also tells whether a verdict
    of its scope was marked by a write or made stale by time; those are refreshed first and
    the page read again."""
    for refreshed in (False, True):
        async with db.driver() as driver:
            rows = await page(driver)
        checked.admit(rows[0] if rows else None)
        if refreshed or not rows[0]["stale"]:
            break
        async with db.sessions() as session:
            await refresh_stale(session, checked.tenant_id, repository.Scope.of(scope), now)
    return [row for row in rows if row["customer_id"] is not None]
