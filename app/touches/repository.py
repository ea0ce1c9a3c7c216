"""SQL for touches: set-based inserts that let the unique key deduplicate, and history reads."""

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, cast

import orjson
from sqlalchemy import RowMapping, Table, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.customers import repository as customers_repo
from app.db import Fetch, erase_customer_rows
from app.facts import repository as facts_repo
from app.frequency import repository as frequency_repo
from app.refresh import repository as marks_repo
from app.tenants import repository as tenants_repo
from app.touches.models import (
    MANUAL_OUTBOUND_CONDITION,
    RESPONSE_CONDITION,
    SIGNAL_CONDITION,
    Touch,
)

touches = cast(Table, Touch.__table__)

# Column name and the array type it travels in; one statement carries a whole batch.
INSERT_COLUMNS = (
    ("id", "uuid"), ("customer_id", "text"), ("channel", "text"),
    ("occurred_at", "timestamptz"), ("kind", "text"), ("direction", "text"),
    ("outcome", "text"), ("category", "text"), ("actor_rep_id", "text"),
    ("actor_team", "text"), ("actor_partner_id", "text"), ("automated", "boolean"),
    ("depth", "text"), ("amount", "numeric"), ("source", "text"), ("external_id", "text"),
    ("ref_external_id", "text"), ("campaign_id", "text"), ("metadata", "jsonb"),
    ("received_at", "timestamptz"),
)  # fmt: skip


# What a stored touch changes besides its row, in the statement that stores it: its
# customer exists, its contact counts, its customer's verdict is marked for a refresh.
INGESTED = (
    "id, customer_id, channel, occurred_at, kind, direction, automated, depth, engaged_at,"
    " source, ref_external_id"
)
# The contact facts (analytics) a stored touch may change: its customer's from its instant (a
# purchase changes none), and those of the contact an engagement points at from the contact's.
FACTS_REACHED = (
    "reached AS (SELECT customer_id, CASE WHEN kind <> 'purchase' THEN occurred_at END AS since"
    " FROM ins UNION ALL SELECT c.customer_id, c.occurred_at FROM ins JOIN touches c"
    " ON c.tenant_id = $1 AND c.source = ins.source AND c.external_id = ins.ref_external_id"
    " AND c.kind = 'contact' WHERE ins.kind = 'engagement')"
)


@cache
def ingest_sql(*, keyed: bool, hold_for_plans: bool) -> str:
    """One statement that stores a batch of touches. $1 the tenant, $2 now, then one array
    per INSERT_COLUMNS; ``keyed``: then the key's hash and the roles it needs (a refused key
    stores nothing and its row says why); ``hold_for_plans``: a contact that may carry out
    an open plan stores nothing either (``plans_held``: the caller judges it in a
    transaction). Answers one row per touch given (``ord``, whether it was inserted, the id
    stored under its key), all with the key's columns; one row at least. A touch whose key
    an erasure kept the digest of is a redelivery: it has no row, and nothing is stored."""
    n = len(INSERT_COLUMNS)
    names = ", ".join(name for name, _ in INSERT_COLUMNS)
    arrays = ", ".join(
        f"${i + 3}::{'text' if kind == 'jsonb' else kind}[]"
        for i, (_, kind) in enumerate(INSERT_COLUMNS)
    )
    selected = ", ".join(
        f"u.{name}::jsonb" if kind == "jsonb" else f"u.{name}" for name, kind in INSERT_COLUMNS
    )
    ctes = [f"given AS (SELECT * FROM unnest({arrays}) WITH ORDINALITY AS u({names}, ord))"]
    conditions = []
    if keyed:
        ctes.insert(0, tenants_repo.live_key(key_hash=f"${n + 3}"))
        conditions.append(f"EXISTS (SELECT 1 FROM key WHERE role = ANY(${n + 4}::text[]))")
    if hold_for_plans:
        ctes.append(HELD_CTE)
        conditions.append("NOT (SELECT plans FROM held)")
    conditions.append("NOT EXISTS (SELECT 1 FROM erased WHERE erased.ord = given.ord)")
    where = " AND ".join(conditions)
    ctes += [
        ERASED_CTE,
        f"u AS (SELECT * FROM given WHERE {where})",
        f"made AS ({customers_repo.ensure_exist_from('u', '$1::uuid', '$2::timestamptz')}"
        " RETURNING 1)",
        # made is read first: a profile written meanwhile is waited for before anything of
        # this statement is locked (WITH parts otherwise run in no set order: marks first)
        f"ins AS (INSERT INTO touches (tenant_id, {names}, engaged_at) SELECT $1, {selected},"
        f" {ENGAGED_AT} FROM u WHERE (SELECT count(*) FROM made) >= 0"
        " ORDER BY u.source, u.external_id"
        f" ON CONFLICT (tenant_id, source, external_id) DO NOTHING RETURNING {INGESTED})",
        f"counted AS ({frequency_repo.count_contacts_from('ins', '$1::uuid')})",
        FACTS_REACHED,
        f"marked AS ({marks_repo.mark_from('reached', '$1::uuid', facts_from='since')})",
    ]
    key = tenants_repo.KEY_SELECTED if keyed else "NULL AS key_id"
    held = "(SELECT plans FROM held)" if hold_for_plans else "false"
    return (
        f"WITH {', '.join(ctes)} SELECT {key}, {held} AS plans_held, r.* FROM (SELECT 1) AS one"
        + (" LEFT JOIN key k ON true" if keyed else "")
        + " LEFT JOIN LATERAL (SELECT u.ord, i.id IS NOT NULL AS inserted,"
        " coalesce(i.id, (SELECT t.id FROM touches t WHERE t.tenant_id = $1"
        " AND t.source = u.source AND t.external_id = u.external_id)) AS stored_id"
        " FROM u LEFT JOIN ins i ON i.id = u.id) AS r ON true"
    )


def key_digest(touch: str) -> str:
    """SQL: the SHA-256 of a touch's (source, external_id), as an erasure keeps it."""
    return (
        f"sha256(convert_to({touch}.source, 'UTF8') || '\\x00'::bytea"
        f" || convert_to({touch}.external_id, 'UTF8'))"
    )


# The touches given that are redeliveries of erased ones (their key's digest is kept); the
# first condition is one probe, so a tenant that never erased anyone hashes nothing.
ERASED_CTE = (
    "erased AS (SELECT g.ord FROM given g WHERE g.external_id IS NOT NULL"
    " AND EXISTS (SELECT 1 FROM erased_touch_keys x WHERE x.tenant_id = $1)"
    " AND EXISTS (SELECT 1 FROM erased_touch_keys e WHERE e.tenant_id = $1"
    f" AND e.key_digest = {key_digest('g')}))"
)
# An open plan that one of the outbound contacts given, made by some actor, may carry out.
HELD_CTE = (
    "held AS (SELECT EXISTS (SELECT 1 FROM contact_plans p JOIN (SELECT customer_id,"
    " min(occurred_at) AS since FROM given WHERE kind = 'contact' AND direction = 'outbound'"
    " AND num_nonnulls(actor_rep_id, actor_team, actor_partner_id) > 0 GROUP BY customer_id)"
    " AS g ON p.customer_id = g.customer_id WHERE p.tenant_id = $1"
    " AND p.status IN ('pending', 'approved') AND p.expires_at > g.since) AS plans)"
)
# A contact is engaged already if an opened or clicked engagement came before it.
ENGAGED_AT = (
    "CASE WHEN u.kind = 'contact' THEN (SELECT min(e.occurred_at) FROM touches e"
    " WHERE e.tenant_id = $1 AND e.source = u.source AND e.ref_external_id = u.external_id"
    " AND e.kind = 'engagement' AND e.outcome IN ('opened', 'clicked')) END"
)


async def row_by_id(fetch: Fetch, tenant_id: uuid.UUID, touch_id: Any) -> Mapping[str, Any] | None:
    rows = await fetch(
        "SELECT * FROM touches WHERE tenant_id = $1 AND id = $2", tenant_id, touch_id
    )
    return rows[0] if rows else None


IDS_BY_KEYS = (
    "SELECT t.source, t.external_id, t.id FROM touches t JOIN unnest($2::text[], $3::text[])"
    " AS k(source, external_id) ON t.source = k.source AND t.external_id = k.external_id"
    " WHERE t.tenant_id = $1"
)


async def ids_by_keys(
    fetch: Fetch, tenant_id: uuid.UUID, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], uuid.UUID]:
    rows = await fetch(IDS_BY_KEYS, tenant_id, [k[0] for k in keys], [k[1] for k in keys])
    return {(r["source"], r["external_id"]): r["id"] for r in rows}


@dataclass(frozen=True, slots=True)
class Ingested:
    """What the ingest statement answered."""

    key: Mapping[str, Any] | None  # the key's row, when the statement looked it up
    plans_held: bool
    stored: dict[int, tuple[bool, uuid.UUID | None]]  # ord -> (inserted, id stored)


async def ingest(
    fetch: Fetch,
    tenant_id: uuid.UUID,
    rows: Sequence[Mapping[str, Any]],
    now: datetime,
    *,
    key: tuple[bytes, Sequence[str]] | None = None,
    hold_for_plans: bool = False,
) -> Ingested:
    """Store the rows (their (source, external_id) distinct) in one statement; ``key``: the
    hash of the caller's key and the roles it needs, checked in the same statement."""
    columns = []
    for name, kind in INSERT_COLUMNS:
        values = [row[name] for row in rows]
        columns.append([orjson.dumps(v).decode() for v in values] if kind == "jsonb" else values)
    sql = ingest_sql(keyed=key is not None, hold_for_plans=hold_for_plans)
    args = [*columns, *((key[0], list(key[1])) if key else ())]
    answer = await fetch(sql, tenant_id, now, *args)
    first = answer[0]
    return Ingested(
        key=tenants_repo.key_selected(first),
        plans_held=first["plans_held"],
        stored={r["ord"]: (r["inserted"], r["stored_id"]) for r in answer if r["ord"] is not None},
    )


async def get(
    session: AsyncSession, tenant_id: uuid.UUID, touch_id: uuid.UUID
) -> RowMapping | None:
    stmt = select(touches).where(touches.c.tenant_id == tenant_id, touches.c.id == touch_id)
    return (await session.execute(stmt)).mappings().one_or_none()


@dataclass(frozen=True, slots=True)
class HistoryQuery:
    customer_id: str
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None
    channel: str | None = None
    kind: str | None = None


async def history_page(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    query: HistoryQuery,
    *,
    before: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[RowMapping]:
    """A customer's touches, newest first, walking the history index."""
    stmt = select(touches).where(
        touches.c.tenant_id == tenant_id, touches.c.customer_id == query.customer_id
    )
    if query.occurred_from is not None:
        stmt = stmt.where(touches.c.occurred_at >= query.occurred_from)
    if query.occurred_to is not None:
        stmt = stmt.where(touches.c.occurred_at <= query.occurred_to)
    if query.channel is not None:
        stmt = stmt.where(touches.c.channel == query.channel)
    if query.kind is not None:
        stmt = stmt.where(touches.c.kind == query.kind)
    if before is not None:
        stmt = stmt.where(tuple_(touches.c.occurred_at, touches.c.id) < before)
    stmt = stmt.order_by(touches.c.occurred_at.desc(), touches.c.id.desc()).limit(limit)
    return list((await session.execute(stmt)).mappings())


# Rows are locked in external_id order first, so concurrent deliveries cannot deadlock.
MERGE_CONTACTS = text(
    "WITH u AS (SELECT * FROM unnest(CAST(:external_ids AS text[]),"
    " CAST(:occurred_at AS timestamptz[]), CAST(:delivered AS boolean[]))"
    " AS u(external_id, occurred_at, delivered)), "
    "locked AS (SELECT t.id, t.occurred_at AS old_at, u.occurred_at, u.delivered FROM touches t"
    " JOIN u ON t.external_id = u.external_id"
    " WHERE t.tenant_id = CAST(:tenant_id AS uuid) AND t.source = :source AND t.kind = 'contact'"
    " ORDER BY t.external_id FOR UPDATE OF t) "
    "UPDATE touches AS t SET occurred_at = LEAST(t.occurred_at, l.occurred_at),"
    " outcome = CASE WHEN l.delivered THEN 'delivered' ELSE t.outcome END "
    "FROM locked l WHERE t.tenant_id = CAST(:tenant_id AS uuid) AND t.id = l.id"
    " AND (t.occurred_at > l.occurred_at"
    " OR (l.delivered AND t.outcome IS DISTINCT FROM 'delivered'))"
    " RETURNING t.customer_id, l.old_at, t.occurred_at, t.channel, t.direction, t.automated,"
    " t.depth, t.engaged_at IS NOT NULL AS engaged"
)


async def merge_contacts(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    source: str,
    contacts: Sequence[tuple[str, datetime, bool]],
) -> list[RowMapping]:
    """Fold later news into stored contacts, by (external_id, occurred_at, delivered).

    A contact moves earlier when an event of it is older than what is stored, and takes the
    outcome `delivered` once delivered; other contacts are left untouched (not even rewritten).
    Returns the contacts that moved in time, with their old instant as ``old_at``.
    """
    if not contacts:
        return []
    ordered = sorted(contacts)
    params = {
        "tenant_id": tenant_id,
        "source": source,
        "external_ids": [c[0] for c in ordered],
        "occurred_at": [c[1] for c in ordered],
        "delivered": [c[2] for c in ordered],
    }
    result = (await session.execute(MERGE_CONTACTS, params)).mappings()
    return [row for row in result if row["old_at"] != row["occurred_at"]]


def _mark_engaged(condition: str) -> str:
    """Set the engagement instant of the contacts (source, external_id) point at, where
    ``condition`` holds of the stored one: re-checked on the locked row, so two concurrent
    engagements of one contact flag it once."""
    return (
        "UPDATE touches c SET engaged_at = e.at FROM (SELECT source, ref, min(at) AS at"
        " FROM unnest(CAST(:source AS text[]), CAST(:ref AS text[]),"
        " CAST(:at AS timestamptz[])) AS u(source, ref, at) GROUP BY source, ref) AS e"
        " WHERE c.tenant_id = :tenant_id AND c.source = e.source AND c.external_id = e.ref"
        f" AND c.kind = 'contact' AND ({condition})"
        " RETURNING c.customer_id, c.occurred_at, c.channel, c.direction"
    )


FIRST_ENGAGEMENTS = text(_mark_engaged("c.engaged_at IS NULL"))
EARLIER_ENGAGEMENTS = text(_mark_engaged("c.engaged_at > e.at"))


async def mark_engaged(
    session: AsyncSession, tenant_id: uuid.UUID, refs: Sequence[tuple[str, str, datetime]]
) -> tuple[list[RowMapping], list[RowMapping]]:
    """Record when the stored contacts these opened or clicked engagements point at, by
    (source, external_id, occurred_at), were first engaged; returns the contacts engaged for
    the first time, and those whose engagement moved earlier. (A contact that comes after
    its engagement is flagged as it is inserted.)"""
    if not refs:
        return [], []
    ordered = sorted(set(refs))
    params = {
        "tenant_id": tenant_id,
        "source": [r[0] for r in ordered],
        "ref": [r[1] for r in ordered],
        "at": [r[2] for r in ordered],
    }
    first = list((await session.execute(FIRST_ENGAGEMENTS, params)).mappings())
    earlier = list((await session.execute(EARLIER_ENGAGEMENTS, params)).mappings())
    return first, earlier


# An erased customer's touches leave the digest of each one's key, nothing else.
KEEP_ERASED_KEYS = (
    "INSERT INTO erased_touch_keys (tenant_id, key_digest, erased_at)"
    f" SELECT t.tenant_id, {key_digest('t')}, $3 FROM touches t"
    " WHERE t.tenant_id = $1 AND t.customer_id = $2 AND t.external_id IS NOT NULL"
    " ON CONFLICT DO NOTHING"
)
ERASE_TOUCHES = erase_customer_rows("touches") + " RETURNING kind"


async def erase_customer(
    fetch: Fetch, tenant_id: uuid.UUID, customer_id: str, now: datetime
) -> int:
    """Delete a customer's touches, keeping the digests of their keys; how many."""
    await fetch(KEEP_ERASED_KEYS, tenant_id, customer_id, now)
    return len(await fetch(ERASE_TOUCHES, tenant_id, customer_id))


def _superseded(condition: str) -> str:
    """SQL about a touch ``t``: it is not of the kind, or a later touch of its customer is."""
    return (
        f"(NOT ({condition}) OR EXISTS (SELECT 1 FROM touches n WHERE n.tenant_id = t.tenant_id"
        f" AND n.customer_id = t.customer_id AND n.occurred_at > t.occurred_at AND ({condition})))"
    )


# The kinds of touch a status reads the latest of (last outbound, last inbound, last
# response, last personal outbound and inbound): retention keeps each customer's latest.
STATUS_ANCHORS = (
    frequency_repo.OUTBOUND_CONTACT, frequency_repo.INBOUND_CONTACT, RESPONSE_CONDITION,
    MANUAL_OUTBOUND_CONDITION, frequency_repo.MANUAL_INBOUND_CONTACT,
)  # fmt: skip
# A round of retention: the next customers after $2 (up to $3 of them) and, unless a refresh
# is yet to count their facts (a mark, or facts a list left pending) or a follow-up of theirs
# is yet to be judged (the engine reads the touches before it), of their touches those older
# than $4 that no status reads, purchases older than $5 (RFM) and complaints older than $6
# (the complaint pause) deleted.
EXPIRE_ROUND = (
    "WITH cs AS (SELECT customer_id FROM customers WHERE tenant_id = $1 AND customer_id > $2"
    " ORDER BY customer_id LIMIT $3), ready AS (SELECT customer_id FROM cs WHERE NOT EXISTS"
    " (SELECT 1 FROM refresh_marks m WHERE m.tenant_id = $1 AND m.customer_id = cs.customer_id)"
    " AND NOT EXISTS (SELECT 1 FROM pending_facts p WHERE p.tenant_id = $1"
    " AND p.customer_id = cs.customer_id)"
    # a probe per customer (a subplan, not an anti-join reading every unjudged follow-up)
    " AND (SELECT 1 FROM contact_facts f WHERE f.tenant_id = $1 AND f.customer_id ="
    f" cs.customer_id AND {facts_repo.UNJUDGED_FOLLOW_UP} LIMIT 1) IS NULL),"
    " doomed AS (SELECT t.id FROM ready JOIN touches t ON t.tenant_id = $1"
    " AND t.customer_id = ready.customer_id WHERE t.occurred_at < $4"
    " AND (t.kind <> 'purchase' OR t.occurred_at < $5)"
    f" AND (NOT ({SIGNAL_CONDITION}) OR t.occurred_at < $6) AND "
    + " AND ".join(_superseded(condition) for condition in STATUS_ANCHORS)
    + "), gone AS (DELETE FROM touches d USING doomed WHERE d.tenant_id = $1"
    " AND d.id = doomed.id RETURNING 1)"
    " SELECT (SELECT max(customer_id) FROM cs) AS last, (SELECT count(*) FROM gone) AS deleted"
)


@dataclass(frozen=True, slots=True)
class Cutoffs:
    """Touches that occurred before these are past retention: any, purchases, complaints."""

    touches: datetime
    purchases: datetime
    complaints: datetime


async def expire_round(
    fetch: Fetch, tenant_id: uuid.UUID, after: str, customers: int, cutoffs: Cutoffs
) -> tuple[str | None, int]:
    """Delete the expired touches of the next ``customers`` customers after ``after``: the
    last customer taken (None: none was left) and how many touches went."""
    [row] = await fetch(
        EXPIRE_ROUND, tenant_id, after, customers, cutoffs.touches, cutoffs.purchases,
        cutoffs.complaints,
    )  # fmt: skip
    return row["last"], row["deleted"]


ADVANCE_HORIZON = (
    "INSERT INTO touch_retention AS r (tenant_id, expired_before) VALUES ($1, $2)"
    " ON CONFLICT (tenant_id) DO UPDATE SET expired_before = greatest(r.expired_before, $2)"
)


async def advance_horizon(fetch: Fetch, tenant_id: uuid.UUID, before: datetime) -> None:
    """Record that touches before this instant may be gone (before any is deleted)."""
    await fetch(ADVANCE_HORIZON, tenant_id, before)
