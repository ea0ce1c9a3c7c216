"""Frequency status: evaluate customers with the engine, and keep their schedules fresh."""

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson

from app.auth import KeyChecked
from app.customers import repository as customers_repo
from app.db import Database
from app.frequency import documents, list_queries, refreshing, repository
from app.frequency.judging import judge_customer, judge_many, policy_of, to_profile


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
    async with db.driver() as driver:
        rows = await customers_repo.profiles_with_policy_version(driver.fetch, tenant_id, live)
        if rows:
            policy = await policy_of(db, tenant_id, rows[0]["policy_version"])
            profiles = [to_profile(r) for r in rows]
            judged = await judge_many(driver.fetch, tenant_id, policy, profiles, as_of)
            stored |= {c: documents.encode(c, status) for c, (_, status) in judged.items()}
    found = [
        documents.at_instant(document, as_of)
        for customer_id in customer_ids
        if (document := stored.get(customer_id)) is not None
    ]
    not_found = [c for c in customer_ids if c not in stored]
    return b'{"items":[' + b",".join(found) + b'],"not_found":' + orjson.dumps(not_found) + b"}"


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
        await refreshing.refresh_stale(db, checked.tenant_id, scope, now)
    return [row for row in rows if row["customer_id"] is not None]
