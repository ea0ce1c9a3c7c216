"""SQL for a customer's activity summary: day counts, last contacts, signals, schedules."""

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Table,
    and_,
    or_,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession

from app.customers.models import Customer
from app.db import Fetch, Positional, erase_customer_rows
from app.frequency.list_queries import ListScope
from app.frequency.models import CustomerDayCount, CustomerSchedule
from app.refresh.models import RefreshMark
from app.touches.models import MANUAL_OUTBOUND_CONDITION, RESPONSE_CONDITION, SIGNAL_CONDITION

day_counts = cast(Table, CustomerDayCount.__table__)
schedules = cast(Table, CustomerSchedule.__table__)
customers = cast(Table, Customer.__table__)
marks = cast(Table, RefreshMark.__table__)

COUNT_COLUMNS = ("outbound", "outbound_automated", "inbound", "light", "value", "deep", "engaged")

INSERT_DAY_COUNTS = (
    "INSERT INTO customer_day_counts AS d (tenant_id, customer_id, day, channel, "
    + ", ".join(COUNT_COLUMNS)
    + ") "
)
ADDED_TO_DAY_COUNTS = (
    " ON CONFLICT (tenant_id, customer_id, day, channel) DO UPDATE SET "
    + ", ".join(f"{c} = d.{c} + excluded.{c}" for c in COUNT_COLUMNS)
)
ADD_DAY_COUNTS = text(
    INSERT_DAY_COUNTS
    + "SELECT CAST(:tenant_id AS uuid), u.* FROM unnest(CAST(:customer_id AS text[]),"
    " CAST(:day AS date[]), CAST(:channel AS text[])"
    + "".join(f", CAST(:{c} AS int[])" for c in COUNT_COLUMNS)
    + ") AS u ORDER BY 2, 3, 4"
    + ADDED_TO_DAY_COUNTS
)


def count_contacts_from(source: str, tenant: str) -> str:
    """A statement adding the contacts of ``source`` (rows with customer_id, occurred_at,
    channel, kind, direction, automated, depth, engaged_at) to the day counts, in key order
    (for a data-modifying WITH)."""
    return (
        INSERT_DAY_COUNTS
        + f"SELECT {tenant}, customer_id, (occurred_at AT TIME ZONE 'UTC')::date, channel,"
        f" {tallies('')} FROM {source} WHERE kind = 'contact' GROUP BY 2, 3, 4 ORDER BY 2, 3, 4"
        + ADDED_TO_DAY_COUNTS
    )


async def add_day_counts(
    session: AsyncSession, tenant_id: uuid.UUID, deltas: dict[tuple[str, date, str], dict[str, int]]
) -> None:
    """Add to the per-day counts; keys are (customer_id, day, channel)."""
    if not deltas:
        return
    keys = sorted(deltas)
    params: dict[str, Any] = {
        "tenant_id": tenant_id,
        "customer_id": [k[0] for k in keys],
        "day": [k[1] for k in keys],
        "channel": [k[2] for k in keys],
    }
    for column in COUNT_COLUMNS:
        params[column] = [deltas[k].get(column, 0) for k in keys]
    await session.execute(ADD_DAY_COUNTS, params)


def _latest(column: str, condition: str) -> str:
    return (
        f"(SELECT t.{column} FROM touches t WHERE t.tenant_id = :tenant_id"
        f" AND t.customer_id = u.customer_id AND ({condition}) AND t.occurred_at <= :as_of"
        " ORDER BY t.occurred_at DESC LIMIT 1)"
    )


def _json_rows(columns: str, source: str) -> str:
    """A subquery's rows as one JSON array of arrays (rows in no particular order)."""
    return f"(SELECT json_agg(json_build_array({columns})) FROM {source})"


COUNTS = ", ".join(f"x.{c}" for c in COUNT_COLUMNS)
SUMS = ", ".join(f"sum(d.{c}) AS {c}" for c in COUNT_COLUMNS)


# What one contact adds to the day counts (see app.frequency.ingest.contact_delta).
def tallies(c: str) -> str:
    """What contacts (rows called ``c``) add to each day-count column."""
    return (
        f"count(*) FILTER (WHERE {c}direction = 'outbound') AS outbound,"
        f" count(*) FILTER (WHERE {c}direction = 'outbound' AND {c}automated)"
        " AS outbound_automated,"
        f" count(*) FILTER (WHERE {c}direction = 'inbound') AS inbound,"
        f" count(*) FILTER (WHERE {c}depth = 'light') AS light,"
        f" count(*) FILTER (WHERE {c}depth = 'value') AS value,"
        f" count(*) FILTER (WHERE {c}depth = 'deep') AS deep,"
        f" count(*) FILTER (WHERE {c}direction = 'outbound' AND {c}engaged_at IS NOT NULL)"
        " AS engaged"
    )


TALLIES = tallies("c.")
CONTACT = "c.tenant_id = :tenant_id AND c.customer_id = u.customer_id AND c.kind = 'contact'"
OUTBOUND_CONTACT = "kind = 'contact' AND direction = 'outbound'"
INBOUND_CONTACT = "kind = 'contact' AND direction = 'inbound'"
MANUAL_INBOUND_CONTACT = f"{INBOUND_CONTACT} AND NOT automated"
# a complaint pauses the channel of the contact it points at, else its own
SIGNAL_CHANNEL = (
    "CASE WHEN t.outcome = 'complained' THEN coalesce((SELECT c.channel FROM touches c"
    " WHERE c.tenant_id = t.tenant_id AND c.source = t.source"
    " AND c.external_id = t.ref_external_id AND c.kind = 'contact'), t.channel)"
    " ELSE t.channel END"
)

# Everything the engine reads of each customer, in one round trip. LATERAL keeps each stretch
# of contacts one range of an index, never a customer's whole history filtered afterwards.
ACTIVITY = Positional.of(
    "SELECT u.customer_id, "
    + _latest("occurred_at", OUTBOUND_CONTACT)
    + " AS last_outbound_at, "
    + _latest("occurred_at", INBOUND_CONTACT)
    + " AS last_inbound_at, "
    + _latest("channel", RESPONSE_CONDITION)
    + " AS last_response_channel, "
    + _latest("occurred_at", MANUAL_OUTBOUND_CONDITION)
    + " AS last_manual_outbound_at, "
    + _latest("occurred_at", MANUAL_INBOUND_CONTACT)
    + " AS last_manual_inbound_at,"
    # counted only as far as a rule's threshold needs: the cost stays flat in history
    " (SELECT count(*) FROM (SELECT 1 FROM touches t WHERE t.tenant_id = :tenant_id"
    f"  AND t.customer_id = u.customer_id AND {MANUAL_OUTBOUND_CONDITION}"
    "  AND t.occurred_at >= u.stage_since AND t.occurred_at <= :as_of"
    "  LIMIT :ordinal_limit) AS o) AS outbound_in_stage,"
    " LEAST((SELECT min(c.occurred_at) FROM touches c WHERE c.tenant_id = :tenant_id"
    "  AND c.customer_id = u.customer_id AND c.occurred_at > :as_of),"
    # an email opened after as_of by an engagement dated ahead (perhaps another customer's
    # touch): the open rates change then
    "  (SELECT min(c.engaged_at) FROM touches c WHERE c.tenant_id = :tenant_id"
    "  AND c.customer_id = u.customer_id AND c.kind = 'contact' AND c.direction = 'outbound'"
    "  AND c.channel = 'email' AND c.engaged_at > :as_of)) AS next_touch_at,"
    + _json_rows(
        f"x.idx, x.channel, {COUNTS}",
        f"(SELECT r.idx, d.channel, {SUMS}"
        " FROM unnest(CAST(:run_firsts AS date[]), CAST(:run_lasts AS date[]))"
        " WITH ORDINALITY AS r(first_day, last_day, idx)"
        " JOIN customer_day_counts d ON d.tenant_id = :tenant_id"
        " AND d.customer_id = u.customer_id AND d.day BETWEEN r.first_day AND r.last_day"
        " GROUP BY r.idx, d.channel) AS x",
    )
    + " AS runs,"
    + _json_rows(
        f"x.idx, x.channel, {COUNTS}, x.first_at",
        f"(SELECT s.idx, c.channel, {TALLIES}, min(c.occurred_at) AS first_at"
        " FROM unnest(CAST(:segment_afters AS timestamptz[]),"
        " CAST(:segment_untils AS timestamptz[])) WITH ORDINALITY AS s(after, until, idx)"
        f" CROSS JOIN LATERAL (SELECT * FROM touches c WHERE {CONTACT}"
        " AND c.occurred_at > s.after AND c.occurred_at <= s.until OFFSET 0) AS c"
        " GROUP BY s.idx, c.channel) AS x",
    )
    + " AS segments,"
    + _json_rows(
        "c.occurred_at, c.channel, c.direction = 'outbound', c.automated, c.depth,"
        " coalesce(c.engaged_at <= :as_of, false)",
        "unnest(CAST(:exact_starts AS timestamptz[])) AS d(start)"
        f" CROSS JOIN LATERAL (SELECT * FROM touches c WHERE {CONTACT}"
        " AND c.occurred_at >= d.start AND c.occurred_at < d.start + interval '1 day'"
        " AND c.occurred_at <= :as_of OFFSET 0) AS c",
    )
    + " AS events,"
    # emails of the open-rate windows engaged only after as_of (buckets count them engaged)
    + _json_rows(
        "c.occurred_at",
        "touches c WHERE c.tenant_id = :tenant_id AND c.customer_id = u.customer_id"
        " AND c.kind = 'contact' AND c.direction = 'outbound' AND c.channel = 'email'"
        " AND c.engaged_at > :as_of AND c.occurred_at > :engaged_since"
        " AND c.occurred_at <= :as_of",
    )
    + " AS late_engaged,"
    + _json_rows(
        f"t.occurred_at, t.outcome, {SIGNAL_CHANNEL}",
        "touches t WHERE t.tenant_id = :tenant_id AND t.customer_id = u.customer_id"
        f" AND ({SIGNAL_CONDITION}) AND t.occurred_at <= :as_of AND t.occurred_at > :since",
    )
    + " AS signals,"
    + _json_rows(
        "p.channel, p.created_at, p.expires_at",
        # reservations open at as_of, as app.conflicts.repository.is_open says: they count
        # from the moment they were made, whatever instant they reserve
        "contact_plans p WHERE p.tenant_id = :tenant_id AND p.customer_id = u.customer_id"
        " AND p.kind = 'reservation' AND p.status IN ('pending', 'approved')"
        " AND p.created_at <= :as_of AND p.expires_at > :as_of",
    )
    + " AS reservations,"
    + _json_rows(
        "l.holder_rep_id, l.holder_team, l.holder_partner_id, l.starts_at,"
        " LEAST(l.expires_at, l.released_at)",
        # active locks, as app.locks.repository.active_at says
        "contact_locks l WHERE l.tenant_id = :tenant_id"
        " AND l.customer_id = u.customer_id AND l.starts_at <= :as_of"
        " AND coalesce(l.released_at, l.expires_at) > :as_of",
    )
    + " AS locks"
    " FROM unnest(CAST(:ids AS text[]), CAST(:stage_since AS timestamptz[]))"
    " AS u(customer_id, stage_since)"
)


async def activities(
    fetch: Fetch,
    tenant_id: uuid.UUID,
    stage_since: Mapping[str, datetime],
    as_of: datetime,
    *,
    runs: Sequence[tuple[date, date]],
    segments: Sequence[tuple[datetime, datetime]],
    exact_days: Sequence[date],
    signals_since: datetime,
    engaged_since: datetime,
    ordinal_limit: int,
) -> list[Mapping[Any, Any]]:
    """Per customer (by id, with the instant its stage began): its last contacts (personal
    ones too), its outbound personal contacts in the stage (up to ``ordinal_limit``), its
    first touch after ``as_of``, and as JSON arrays its day counts summed per run, its
    contacts tallied per segment, the contacts of the exact days, the emails since
    ``engaged_since`` engaged only after ``as_of``, its unsubscribes and complaints since
    ``signals_since``, its open reservations and the locks active at
    ``as_of``."""
    params = {
        "tenant_id": tenant_id,
        "ids": list(stage_since),
        "stage_since": list(stage_since.values()),
        "as_of": as_of,
        "run_firsts": [first for first, _ in runs],
        "run_lasts": [last for _, last in runs],
        "segment_afters": [after for after, _ in segments],
        "segment_untils": [until for _, until in segments],
        "exact_starts": [datetime.combine(day, time(0), tzinfo=UTC) for day in exact_days],
        "since": signals_since,
        "engaged_since": engaged_since,
        "ordinal_limit": ordinal_limit,
    }
    return list(await fetch(ACTIVITY.sql, *ACTIVITY.args(params)))


SCHEDULE_COLUMNS = (
    ("customer_id", "text"), ("policy_version", "int"), ("rule", "text"), ("status", "text"),
    ("due_at", "timestamptz"), ("overdue_at", "timestamptz"), ("never_contacted", "boolean"),
    ("suppressed_until", "timestamptz"), ("over_until", "timestamptz"),
    ("recheck_at", "timestamptz"), ("weight", "float8"), ("owner_rep", "text"),
    ("owner_team", "text"), ("segment", "text"), ("stage", "text"), ("refreshed_at", "timestamptz"),
    ("computed_seq", "bigint"),
)  # fmt: skip


def _upsert_sql(table: str, columns: Sequence[tuple[str, str]]) -> Positional:
    """One upsert of rows given as one array per column, in customer order; a verdict that
    accounts for an older mark never overwrites a newer one."""
    names = [name for name, _ in columns]
    return Positional.of(
        f"INSERT INTO {table} (tenant_id, {', '.join(names)}) SELECT CAST(:tenant_id AS uuid),"
        " u.* FROM unnest("
        + ", ".join(f"CAST(:{name} AS {kind}[])" for name, kind in columns)
        + ") AS u ORDER BY 1 ON CONFLICT (tenant_id, customer_id) DO UPDATE SET "
        + ", ".join(f"{name} = excluded.{name}" for name in names[1:])
        + f" WHERE {table}.computed_seq <= excluded.computed_seq"
    )


UPSERT_SCHEDULES = _upsert_sql("customer_schedules", SCHEDULE_COLUMNS)
DOCUMENT_COLUMNS = (
    ("customer_id", "text"), ("document", "bytea"), ("facts", "bytea"),
    ("computed_at", "timestamptz"), ("valid_until", "timestamptz"), ("computed_seq", "bigint"),
)  # fmt: skip

UPSERT_DOCUMENTS = _upsert_sql("status_documents", DOCUMENT_COLUMNS)


async def _upsert(
    fetch: Fetch,
    statement: Positional,
    columns: Sequence[tuple[str, str]],
    tenant_id: uuid.UUID,
    rows: Sequence[dict[str, Any]],
) -> None:
    """One statement for the lot, in customer order (no deadlocks between refreshers)."""
    if rows:
        params: dict[str, Any] = {"tenant_id": tenant_id}
        for name, _ in columns:
            params[name] = [row[name] for row in rows]
        await fetch(statement.sql, *statement.args(params))


async def upsert_schedules(
    fetch: Fetch, tenant_id: uuid.UUID, rows: Sequence[dict[str, Any]]
) -> None:
    await _upsert(fetch, UPSERT_SCHEDULES, SCHEDULE_COLUMNS, tenant_id, rows)


async def upsert_documents(
    fetch: Fetch, tenant_id: uuid.UUID, rows: Sequence[dict[str, Any]]
) -> None:
    await _upsert(fetch, UPSERT_DOCUMENTS, DOCUMENT_COLUMNS, tenant_id, rows)


HOLD_STATUSES = (
    "SELECT customer_id, status, refreshed_at, computed_seq FROM customer_schedules"
    " WHERE tenant_id = $1 AND customer_id = ANY($2::text[]) ORDER BY customer_id FOR UPDATE"
)


async def hold_statuses(
    fetch: Fetch, tenant_id: uuid.UUID, customer_ids: Sequence[str]
) -> dict[str, Mapping[str, Any]]:
    """The stored status of each customer that has a schedule, its row locked until the
    caller's transaction ends (the lock order of every path that stores verdicts)."""
    rows = await fetch(HOLD_STATUSES, tenant_id, sorted(customer_ids))
    return {row["customer_id"]: row for row in rows}


# The key, and the stored document if it may be served now (no mark, judged by now, not yet
# expired): a status read at the current instant is this one statement.
def servable_document(tenant: str, customer: str, at: str) -> str:
    """The stored document of a customer if it may be served at ``at`` (the current
    instant): no mark waits, judged by then and not yet expired; else NULL."""
    return (
        "(SELECT d.document FROM status_documents d"
        f" WHERE d.tenant_id = {tenant} AND d.customer_id = {customer} AND d.computed_at <= {at}"
        f" AND (d.valid_until IS NULL OR d.valid_until > {at}) AND NOT EXISTS (SELECT 1"
        f" FROM refresh_marks m WHERE m.tenant_id = {tenant} AND m.customer_id = {customer}))"
    )


KEY_AND_DOCUMENT = (
    f"SELECT k.id, k.role, k.partner_id, {servable_document('k.tenant_id', '$3', '$4')}"
    " AS document FROM api_keys k"
    " WHERE k.tenant_id = $1 AND k.key_hash = $2 AND k.revoked_at IS NULL"
)


async def key_and_document(
    driver: Any, tenant_id: uuid.UUID, key_hash: bytes, customer_id: str, now: datetime
) -> Mapping[str, Any] | None:
    """The live key's row (id, role, partner_id) with the servable document or None; None
    for no live key. ``driver``: an asyncpg connection."""
    row: Mapping[str, Any] | None = await driver.fetchrow(
        KEY_AND_DOCUMENT, tenant_id, key_hash, customer_id, now
    )
    return row


# Which of the ids name customers, with their documents where servable at $3.
DOCUMENTS_OF = (
    "SELECT u.id, c.customer_id IS NOT NULL AS known,"
    f" {servable_document('$1', 'u.id', '$3')} AS document FROM unnest($2::text[]) AS u(id)"
    " LEFT JOIN customers c ON c.tenant_id = $1 AND c.customer_id = u.id"
)


async def documents_of(
    driver: Any, tenant_id: uuid.UUID, customer_ids: Sequence[str], now: datetime
) -> dict[str, bytes | None]:
    """The known customers among the ids, each with its document servable now, or None."""
    rows = await driver.fetch(DOCUMENTS_OF, tenant_id, sorted(set(customer_ids)), now)
    return {row["id"]: row["document"] for row in rows if row["known"]}


# Every path that stores verdicts locks schedules before documents, each in customer order:
# here the schedules of the expired documents, skipping those another refresher holds.
EXPIRED_DOCUMENTS = Positional.of(
    "SELECT s.tenant_id, s.customer_id, s.computed_seq FROM customer_schedules s"
    " JOIN (SELECT tenant_id, customer_id FROM status_documents WHERE valid_until <= :now"
    " ORDER BY valid_until LIMIT :limit) AS d USING (tenant_id, customer_id)"
    " ORDER BY s.tenant_id, s.customer_id FOR UPDATE OF s SKIP LOCKED"
)


async def expired_documents(
    fetch: Fetch, now: datetime, limit: int
) -> list[tuple[uuid.UUID, str, int]]:
    """Customers whose stored document time has made untrue, oldest first, with the seq
    their verdict accounts for; held until the caller's transaction ends."""
    rows = await fetch(EXPIRED_DOCUMENTS.sql, *EXPIRED_DOCUMENTS.args({"now": now, "limit": limit}))
    return [(r["tenant_id"], r["customer_id"], r["computed_seq"]) for r in rows]


def _in_scope(scope: ListScope, table: Table) -> list[ColumnElement[bool]]:
    """The scope's conditions on a table whose columns bear the scope's names (schedules, or
    profiles: a customer just created has no schedule yet)."""
    return [
        table.c[column] == value for column, value in zip(scope.columns, scope.values, strict=True)
    ]


async def marked_in_scope(
    session: AsyncSession, tenant_id: uuid.UUID, scope: ListScope, limit: int
) -> dict[str, int]:
    """Marked customers the scope covers now (by their profiles) or covered when last judged
    (by their stored schedules: a customer moved out must leave the list), with their marks'
    seqs."""
    m, c, s = marks.c, customers.c, schedules.c
    stmt = (
        select(m.customer_id, m.seq)
        .join(customers, (c.tenant_id == m.tenant_id) & (c.customer_id == m.customer_id))
        .outerjoin(schedules, (s.tenant_id == m.tenant_id) & (s.customer_id == m.customer_id))
        .where(m.tenant_id == tenant_id)
    )
    now_in, was_in = _in_scope(scope, customers), _in_scope(scope, schedules)
    if now_in:
        stmt = stmt.where(or_(and_(*now_in), and_(*was_in)))
    stmt = stmt.order_by(m.customer_id).limit(limit)
    return {row.customer_id: row.seq for row in await session.execute(stmt)}


async def expired_in_scope(
    session: AsyncSession, tenant_id: uuid.UUID, scope: ListScope, now: datetime, limit: int
) -> dict[str, int]:
    """Customers whose stored status time may have changed (other than by due or overdue,
    which lists compare themselves), with the seq their schedule accounts for."""
    s = schedules.c
    stmt = (
        select(s.customer_id, s.computed_seq)
        .where(s.tenant_id == tenant_id, *_in_scope(scope, schedules), s.recheck_at <= now)
        .order_by(s.customer_id)
        .limit(limit)
    )
    return {row.customer_id: row.computed_seq for row in await session.execute(stmt)}


ERASE_CUSTOMER_DAY_COUNTS = erase_customer_rows("customer_day_counts")


async def erase_customer(fetch: Fetch, tenant_id: uuid.UUID, customer_id: str) -> None:
    """Erasure: delete the customer's per-day contact counts."""
    await fetch(ERASE_CUSTOMER_DAY_COUNTS, tenant_id, customer_id)
