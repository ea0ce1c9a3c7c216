"""SQL for a customer's activity summary: day counts, last contacts, signals, schedules."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, RowMapping, Table, case, literal, or_, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.customers.models import Customer
from app.frequency.models import CustomerDayCount, CustomerSchedule
from app.touches.models import RESPONSE_CONDITION, SIGNAL_CONDITION

day_counts = cast(Table, CustomerDayCount.__table__)
schedules = cast(Table, CustomerSchedule.__table__)
customers = cast(Table, Customer.__table__)

COUNT_COLUMNS = ("outbound", "outbound_automated", "inbound", "light", "value", "deep", "engaged")

ADD_DAY_COUNTS = text(
    "INSERT INTO customer_day_counts AS d (tenant_id, customer_id, day, channel, "
    + ", ".join(COUNT_COLUMNS)
    + ") SELECT CAST(:tenant_id AS uuid), u.* FROM unnest(CAST(:customer_id AS text[]),"
    " CAST(:day AS date[]), CAST(:channel AS text[])"
    + "".join(f", CAST(:{c} AS int[])" for c in COUNT_COLUMNS)
    + ") AS u ORDER BY 2, 3, 4 ON CONFLICT (tenant_id, customer_id, day, channel) DO UPDATE SET "
    + ", ".join(f"{c} = d.{c} + excluded.{c}" for c in COUNT_COLUMNS)
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


MARK_ENGAGED_CONTACTS = text(
    "UPDATE touches c SET engaged = true FROM unnest(CAST(:source AS text[]),"
    " CAST(:ref AS text[])) AS e(source, ref) WHERE c.tenant_id = :tenant_id"
    " AND c.source = e.source AND c.external_id = e.ref AND c.kind = 'contact' AND NOT c.engaged"
    " RETURNING c.customer_id, c.occurred_at, c.channel, c.direction"
)

MARK_ENGAGED_NEW_CONTACTS = text(
    "UPDATE touches c SET engaged = true WHERE c.tenant_id = :tenant_id"
    " AND c.id = ANY(CAST(:ids AS uuid[])) AND NOT c.engaged AND EXISTS ("
    " SELECT 1 FROM touches e WHERE e.tenant_id = c.tenant_id AND e.source = c.source"
    " AND e.ref_external_id = c.external_id AND e.kind = 'engagement'"
    " AND e.outcome IN ('opened', 'clicked'))"
    " RETURNING c.customer_id, c.occurred_at, c.channel, c.direction"
)


async def mark_engaged(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    refs: Sequence[tuple[str, str]],
    new_contact_ids: Sequence[uuid.UUID],
) -> list[RowMapping]:
    """Flag contacts that an opened or clicked engagement points at, whichever came first;
    returns the contacts newly flagged."""
    flagged: list[RowMapping] = []
    if refs:
        ordered = sorted(set(refs))
        result = await session.execute(
            MARK_ENGAGED_CONTACTS,
            {
                "tenant_id": tenant_id,
                "source": [r[0] for r in ordered],
                "ref": [r[1] for r in ordered],
            },
        )
        flagged += list(result.mappings())
    if new_contact_ids:
        result = await session.execute(
            MARK_ENGAGED_NEW_CONTACTS, {"tenant_id": tenant_id, "ids": list(new_contact_ids)}
        )
        flagged += list(result.mappings())
    return flagged


OPT_OUT = text(
    "UPDATE customers c SET preferences = jsonb_set(c.preferences, '{opted_out_channels}',"
    " to_jsonb(ARRAY(SELECT DISTINCT x FROM unnest(ARRAY(SELECT jsonb_array_elements_text("
    " coalesce(c.preferences->'opted_out_channels', '[]'))) || u.channels) AS x ORDER BY x))),"
    " updated_at = :now"
    " FROM (SELECT customer_id, array_agg(channel) AS channels FROM unnest(CAST(:customer_id AS"
    " text[]), CAST(:channel AS text[])) AS v(customer_id, channel) GROUP BY customer_id) AS u"
    " WHERE c.tenant_id = :tenant_id AND c.customer_id = u.customer_id"
)


async def opt_out(
    session: AsyncSession, tenant_id: uuid.UUID, pairs: Sequence[tuple[str, str]], now: datetime
) -> None:
    """Add each (customer, channel) to the customer's opted-out channels."""
    if not pairs:
        return
    ordered = sorted(set(pairs))
    await session.execute(
        OPT_OUT,
        {
            "tenant_id": tenant_id,
            "customer_id": [p[0] for p in ordered],
            "channel": [p[1] for p in ordered],
            "now": now,
        },
    )


LAST_CONTACTS = text(
    "SELECT u.customer_id,"
    " (SELECT t.occurred_at FROM touches t WHERE t.tenant_id = :tenant_id"
    "  AND t.customer_id = u.customer_id AND t.kind = 'contact' AND t.direction = 'outbound'"
    "  AND t.occurred_at <= :as_of ORDER BY t.occurred_at DESC LIMIT 1) AS last_outbound_at,"
    " (SELECT t.occurred_at FROM touches t WHERE t.tenant_id = :tenant_id"
    "  AND t.customer_id = u.customer_id AND t.kind = 'contact' AND t.direction = 'inbound'"
    "  AND t.occurred_at <= :as_of ORDER BY t.occurred_at DESC LIMIT 1) AS last_inbound_at,"
    " (SELECT t.channel FROM touches t WHERE t.tenant_id = :tenant_id"
    f"  AND t.customer_id = u.customer_id AND ({RESPONSE_CONDITION})"
    "  AND t.occurred_at <= :as_of ORDER BY t.occurred_at DESC LIMIT 1) AS last_response_channel"
    " FROM unnest(CAST(:ids AS text[])) AS u(customer_id)"
)

COUNT_SUMS = ", ".join(f"sum({c})::int AS {c}" for c in COUNT_COLUMNS)

RUN_COUNTS = text(
    "SELECT d.customer_id, r.idx, d.channel, "
    + COUNT_SUMS
    + " FROM unnest(CAST(:firsts AS date[]), CAST(:lasts AS date[])) WITH ORDINALITY"
    " AS r(first_day, last_day, idx)"
    " JOIN customer_day_counts d ON d.tenant_id = :tenant_id"
    " AND d.customer_id = ANY(CAST(:ids AS text[]))"
    " AND d.day >= r.first_day AND d.day <= r.last_day"
    " GROUP BY d.customer_id, r.idx, d.channel"
)

# What one contact adds to the day counts (see app.frequency.ingest.contact_delta).
TOUCH_COUNTS = (
    "count(*) FILTER (WHERE t.direction = 'outbound')::int AS outbound,"
    " count(*) FILTER (WHERE t.direction = 'outbound' AND t.automated)::int AS outbound_automated,"
    " count(*) FILTER (WHERE t.direction = 'inbound')::int AS inbound,"
    " count(*) FILTER (WHERE t.depth = 'light')::int AS light,"
    " count(*) FILTER (WHERE t.depth = 'value')::int AS value,"
    " count(*) FILTER (WHERE t.depth = 'deep')::int AS deep,"
    " count(*) FILTER (WHERE t.direction = 'outbound' AND t.engaged)::int AS engaged"
)

# LATERAL: each (customer, stretch) is one range of the history index, never a customer's
# whole history joined and filtered afterwards.
SEGMENT_COUNTS = text(
    f"SELECT u.customer_id, s.idx, t.channel, {TOUCH_COUNTS}, min(t.occurred_at) AS first_at"
    " FROM unnest(CAST(:ids AS text[])) AS u(customer_id)"
    " CROSS JOIN unnest(CAST(:afters AS timestamptz[]), CAST(:untils AS timestamptz[]))"
    " WITH ORDINALITY AS s(after, until, idx)"
    " CROSS JOIN LATERAL (SELECT * FROM touches c WHERE c.tenant_id = :tenant_id"
    " AND c.customer_id = u.customer_id AND c.occurred_at > s.after"
    " AND c.occurred_at <= s.until AND c.kind = 'contact' OFFSET 0) AS t"
    " GROUP BY u.customer_id, s.idx, t.channel"
)

EXACT_CONTACTS = text(
    "SELECT u.customer_id, t.occurred_at, t.channel, t.direction, t.automated, t.depth,"
    " t.engaged FROM unnest(CAST(:ids AS text[])) AS u(customer_id)"
    " CROSS JOIN unnest(CAST(:starts AS timestamptz[])) AS d(start)"
    " CROSS JOIN LATERAL (SELECT * FROM touches c WHERE c.tenant_id = :tenant_id"
    " AND c.customer_id = u.customer_id AND c.occurred_at >= d.start"
    " AND c.occurred_at < d.start + interval '1 day' AND c.occurred_at <= :as_of"
    " AND c.kind = 'contact' OFFSET 0) AS t"
)

SIGNALS = text(
    "SELECT t.customer_id, t.occurred_at, t.outcome, t.channel"
    " FROM unnest(CAST(:ids AS text[])) AS u(customer_id)"
    " JOIN touches t ON t.tenant_id = :tenant_id AND t.customer_id = u.customer_id"
    f" AND ({SIGNAL_CONDITION}) AND t.occurred_at <= :as_of AND t.occurred_at > :since"
)


async def last_contacts(
    session: AsyncSession, tenant_id: uuid.UUID, ids: Sequence[str], as_of: datetime
) -> list[RowMapping]:
    params = {"tenant_id": tenant_id, "ids": list(ids), "as_of": as_of}
    return list((await session.execute(LAST_CONTACTS, params)).mappings())


FIRST_TOUCHES_AFTER = text(
    "SELECT t.customer_id, min(t.occurred_at) AS at FROM touches t"
    " WHERE t.tenant_id = :tenant_id AND t.customer_id = ANY(CAST(:ids AS text[]))"
    " AND t.occurred_at > :now GROUP BY t.customer_id"
)


async def first_touches_after(
    session: AsyncSession, tenant_id: uuid.UUID, ids: Sequence[str], now: datetime
) -> dict[str, datetime]:
    """Each customer's first touch dated after ``now``, if any (touches may come early)."""
    params = {"tenant_id": tenant_id, "ids": list(ids), "now": now}
    rows = (await session.execute(FIRST_TOUCHES_AFTER, params)).mappings()
    return {row["customer_id"]: row["at"] for row in rows}


async def run_counts(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    ids: Sequence[str],
    runs: Sequence[tuple[date, date]],
) -> list[RowMapping]:
    """Per customer and channel, the day counts summed over each run of days (``idx`` from 1)."""
    if not runs:
        return []
    params = {
        "tenant_id": tenant_id,
        "ids": list(ids),
        "firsts": [first for first, _ in runs],
        "lasts": [last for _, last in runs],
    }
    return list((await session.execute(RUN_COUNTS, params)).mappings())


async def segment_counts(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    ids: Sequence[str],
    segments: Sequence[tuple[datetime, datetime]],
) -> list[RowMapping]:
    """Per customer and channel, the contacts in each (after, until] (``idx`` from 1)."""
    if not segments:
        return []
    params = {
        "tenant_id": tenant_id,
        "ids": list(ids),
        "afters": [after for after, _ in segments],
        "untils": [until for _, until in segments],
    }
    return list((await session.execute(SEGMENT_COUNTS, params)).mappings())


async def exact_contacts(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    ids: Sequence[str],
    days: Sequence[date],
    as_of: datetime,
) -> list[RowMapping]:
    if not days:
        return []
    starts = [datetime.combine(day, time(0), tzinfo=UTC) for day in sorted(days)]
    params = {"tenant_id": tenant_id, "ids": list(ids), "starts": starts, "as_of": as_of}
    return list((await session.execute(EXACT_CONTACTS, params)).mappings())


async def signals(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    ids: Sequence[str],
    as_of: datetime,
    lookback_days: int,
) -> list[RowMapping]:
    since = as_of - timedelta(days=lookback_days)
    params = {"tenant_id": tenant_id, "ids": list(ids), "as_of": as_of, "since": since}
    return list((await session.execute(SIGNALS, params)).mappings())


SCHEDULE_COLUMNS = (
    ("customer_id", "text"), ("policy_version", "int"), ("rule", "text"),
    ("due_at", "timestamptz"), ("overdue_at", "timestamptz"), ("never_contacted", "boolean"),
    ("suppressed_until", "timestamptz"), ("over_until", "timestamptz"),
    ("recheck_at", "timestamptz"), ("weight", "float8"), ("owner_rep", "text"),
    ("owner_team", "text"), ("segment", "text"), ("stage", "text"), ("refreshed_at", "timestamptz"),
)  # fmt: skip

UPSERT_SCHEDULES = text(
    "INSERT INTO customer_schedules (tenant_id, "
    + ", ".join(name for name, _ in SCHEDULE_COLUMNS)
    + ") SELECT CAST(:tenant_id AS uuid), u.* FROM unnest("
    + ", ".join(f"CAST(:{name} AS {kind}[])" for name, kind in SCHEDULE_COLUMNS)
    + ") AS u ORDER BY 1 ON CONFLICT (tenant_id, customer_id) DO UPDATE SET "
    + ", ".join(f"{name} = excluded.{name}" for name, _ in SCHEDULE_COLUMNS[1:])
)


async def upsert_schedules(
    session: AsyncSession, tenant_id: uuid.UUID, rows: Sequence[dict[str, Any]]
) -> None:
    """Store computed schedules, one statement for the lot (in customer order: no deadlocks)."""
    if not rows:
        return
    params: dict[str, Any] = {"tenant_id": tenant_id}
    for name, _ in SCHEDULE_COLUMNS:
        params[name] = [row[name] for row in rows]
    await session.execute(UPSERT_SCHEDULES, params)


def status_expression(now: datetime) -> ColumnElement[str]:
    """A stored schedule's status at ``now``: what the engine would say, compared in SQL."""
    s = schedules.c
    return case(
        (s.suppressed_until > now, literal("suppressed")),
        (s.over_until > now, literal("over_contacted")),
        (s.overdue_at <= now, literal("overdue")),
        (or_(s.never_contacted, s.due_at <= now), literal("due")),
        else_=literal("on_track"),
    )


@dataclass(frozen=True, slots=True)
class Scope:
    """Which customers a list covers."""

    owner_rep: str | None = None
    team: str | None = None
    segment: str | None = None
    stage: str | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        s = schedules.c
        pairs = (
            (s.owner_rep, self.owner_rep),
            (s.owner_team, self.team),
            (s.segment, self.segment),
            (s.stage, self.stage),
        )
        return [column == value for column, value in pairs if value is not None]


async def stale_in_scope(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    scope: Scope,
    policy_version: int,
    now: datetime,
    limit: int,
) -> list[str]:
    """Customers whose stored schedule may no longer be what the engine says now."""
    s = schedules.c
    stmt = (
        select(s.customer_id)
        .where(s.tenant_id == tenant_id, *scope.conditions())
        .where(or_(s.recheck_at <= now, s.policy_version < policy_version))
        .order_by(s.customer_id)
        .limit(limit)
    )
    return list(await session.scalars(stmt))


async def follow_up_page(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    scope: Scope,
    *,
    now: datetime,
    cutoff: datetime,
    status: str | None,
    after: tuple[bool, float, datetime, str] | None,
    limit: int,
) -> list[RowMapping]:
    """Customers due by ``cutoff``, not suppressed: overdue first, heavy segments, then due time.

    Overdue and not-yet-overdue customers are read by two walks of the queue index (owner,
    weight, due time), each stopping at ``limit``: no sort of the whole queue."""
    rows: list[RowMapping] = []
    for late in (True, False):
        if after is not None and after[0] and not late:
            after = None  # the overdue part is done: the other starts from its beginning
        if after is not None and after[0] != late:
            continue  # the cursor is past this part
        if status is not None and (status == "overdue") != late:
            continue
        key = (after[1], after[2], after[3]) if after is not None else None
        rows += await _queue_part(
            session, tenant_id, scope, now=now, cutoff=cutoff, late=late, status=status,
            after=key, limit=limit - len(rows),
        )  # fmt: skip
        if len(rows) >= limit:
            break
    return rows


async def _queue_part(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    scope: Scope,
    *,
    now: datetime,
    cutoff: datetime,
    late: bool,
    status: str | None,
    after: tuple[float, datetime, str] | None,
    limit: int,
) -> list[RowMapping]:
    s = schedules.c
    state = status_expression(now)
    overdue = s.overdue_at <= now
    stmt = (
        select(*s, state.label("status"), literal(late).label("late"))
        .where(s.tenant_id == tenant_id, *scope.conditions(), s.due_at <= cutoff)
        .where(overdue if late else or_(s.overdue_at.is_(None), s.overdue_at > now))
        .where(state != "suppressed")
    )
    if status is not None:
        stmt = stmt.where(state == status)
    if after is not None:
        weight, due_at, customer_id = after
        # weight descends in the index, the rest ascends: "after" spelled so the index seeks
        stmt = stmt.where(
            s.weight <= weight,
            or_(
                s.weight < weight,
                tuple_(s.due_at, s.customer_id) > tuple_(literal(due_at), literal(customer_id)),
            ),
        )
    stmt = stmt.order_by(s.weight.desc(), s.due_at, s.customer_id).limit(limit)
    return list((await session.execute(stmt)).mappings())


async def status_page(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    scope: Scope,
    *,
    now: datetime,
    status: str | None,
    after: str | None,
    limit: int,
) -> list[RowMapping]:
    s = schedules.c
    state = status_expression(now)
    stmt = select(*s, state.label("status")).where(s.tenant_id == tenant_id, *scope.conditions())
    if status is not None:
        stmt = stmt.where(state == status)
    if after is not None:
        stmt = stmt.where(s.customer_id > after)
    stmt = stmt.order_by(s.customer_id).limit(limit)
    return list((await session.execute(stmt)).mappings())


async def tenant_customer_ids(
    session: AsyncSession, tenant_id: uuid.UUID, *, after: str | None, limit: int
) -> list[str]:
    stmt = select(customers.c.customer_id).where(customers.c.tenant_id == tenant_id)
    if after is not None:
        stmt = stmt.where(customers.c.customer_id > after)
    return list(await session.scalars(stmt.order_by(customers.c.customer_id).limit(limit)))


async def lock_customers(
    session: AsyncSession, tenant_id: uuid.UUID, ids: Sequence[str], *, skip_locked: bool = False
) -> list[str]:
    """Serialise schedule refreshes per customer (in id order, so never a deadlock).

    ``FOR NO KEY UPDATE`` does not conflict with the key-share lock a touch's foreign key
    takes, so a writer that inserted touches can still take it; with ``skip_locked`` a
    refresh leaves customers that a writer is busy with (the writer refreshes them itself).
    """
    stmt = (
        select(customers.c.customer_id)
        .where(customers.c.tenant_id == tenant_id, customers.c.customer_id.in_(sorted(set(ids))))
        .order_by(customers.c.customer_id)
        .with_for_update(key_share=True, skip_locked=skip_locked)  # FOR NO KEY UPDATE
    )
    return list(await session.scalars(stmt))
