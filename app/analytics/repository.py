"""SQL for the analytics reports: aggregates over the contact facts (``app.facts``),
one statement a report, never a walk of the touches.

Each statement is put together from fixed fragments (the group keys and filters a request
names pick among them); every value is a bound parameter. Group values are ordered by code
point (``COLLATE "C"``), ``false`` before ``true``, null last."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import RowMapping, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.analytics.schemas import Filters, Window
from app.facts.repository import OUTCOME_FLAGS, ROLLUP_COUNTS
from app.frequency.list_queries import STATUS

# What each group key reads: the contact's fact (``t``) or the customer's profile now (``cu``).
GROUP_COLUMNS = {
    "channel": "t.channel",
    "direction": "t.direction",
    "category": "t.category",
    "automated": "t.automated",
    "team": "t.actor_team",
    "rep": "t.actor_rep_id",
    "partner": "t.actor_partner_id",
    "segment": "cu.segment",
    "owner_team": "cu.owner_team",
}
BOOLEAN_KEYS = frozenset({"automated"})
FILTER_COLUMNS = {
    "channel": "t.channel",
    "team": "t.actor_team",
    "rep_id": "t.actor_rep_id",
    "partner_id": "t.actor_partner_id",
    "category": "t.category",
    "automated": "t.automated",
}
PROFILE_KEYS = frozenset({"segment", "owner_team"})


def _with_profile(keys: Sequence[str]) -> str:
    """The join to the profiles now, when a group key reads them."""
    if PROFILE_KEYS.isdisjoint(keys):
        return ""
    return " JOIN customers cu ON cu.tenant_id = t.tenant_id AND cu.customer_id = t.customer_id"


def _filters(filters: Filters) -> tuple[str, dict[str, Any]]:
    """The conditions on ``t`` the set filters make, and their parameters."""
    named = {name: getattr(filters, name) for name in FILTER_COLUMNS}
    named = {name: value for name, value in named.items() if value is not None}
    sql = "".join(f" AND {FILTER_COLUMNS[name]} = :f_{name}" for name in named)
    return sql, {f"f_{name}": value for name, value in named.items()}


def _group_select(keys: Sequence[str]) -> str:
    """The group values, text compared by code point: ordered as the contract says, and
    grouped (sorted, to be grouped) without the locale's rules, which cost a third of a
    report (so are the customers counted distinct)."""
    collate = {key: "" if key in BOOLEAN_KEYS else ' COLLATE "C"' for key in keys}
    return "".join(f", {GROUP_COLUMNS[key]}{collate[key]} AS g{i}" for i, key in enumerate(keys))


def _group_names(keys: Sequence[str]) -> str:
    return "".join(f", g{i}" for i in range(len(keys)))


def _group_order(keys: Sequence[str]) -> list[str]:
    return [f"g{i} NULLS LAST" for i in range(len(keys))]


def _window(tenant_id: uuid.UUID, window: Window) -> dict[str, Any]:
    return {"tenant_id": tenant_id, "since": window.since, "until": window.until}


CONTACT_COUNTS = (
    "count(*) AS contacts, count(*) FILTER (WHERE direction = 'outbound') AS outbound,"
    " count(*) FILTER (WHERE direction = 'inbound') AS inbound,"
    " count(*) FILTER (WHERE automated) AS automated,"
    ' count(DISTINCT customer_id COLLATE "C") AS customers,'
    " count(*) FILTER (WHERE effective) AS effective,"
    " count(*) FILTER (WHERE responded) AS responded"
)


def contacts_sql(keys: Sequence[str], interval: str | None, filters: str) -> str:
    """Contact volume per period and group, and (``total`` 1) the totals of the range."""
    period = (
        "date_trunc(CAST(:unit AS text), t.occurred_at AT TIME ZONE CAST(:tz AS text))"
        if interval
        else "CAST(NULL AS timestamp)"
    )
    groups = _group_names(keys)
    return (
        f"WITH c AS (SELECT {period} AS period{_group_select(keys)}, t.customer_id,"
        " t.direction, t.automated, t.effective, t.responded"
        f" FROM contact_facts t{_with_profile(keys)} WHERE t.tenant_id = :tenant_id"
        f" AND t.occurred_at >= :since AND t.occurred_at < :until{filters})"
        f" SELECT GROUPING(period) AS total, period{groups}, {CONTACT_COUNTS} FROM c"
        f" GROUP BY GROUPING SETS ((period{groups}), ())"
        f" ORDER BY {', '.join(['total', 'period NULLS LAST', *_group_order(keys)])}"
    )


async def contact_volume(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    window: Window,
    *,
    keys: Sequence[str],
    interval: str | None,
    timezone: str,
    filters: Filters,
) -> list[RowMapping]:
    """Rows of ``period`` (local, naive; null without an interval), ``g0``.. (the group
    values) and the counts, then one row with ``total`` 1: the whole range's."""
    where, params = _filters(filters)
    params |= _window(tenant_id, window)
    if interval:
        params |= {"unit": interval, "tz": timezone}
    result = await session.execute(text(contacts_sql(keys, interval, where)), params)
    return list(result.mappings())


OUTCOME_SUMS = ", ".join(f"sum({count}) AS {count}" for count in ROLLUP_COUNTS)
# What the outcome rollups keep (``app.facts``): a report grouped or filtered by anything else
# counts the facts.
ROLLED_UP_KEYS = frozenset({"channel", "automated", "team"})
ROLLED_UP_FILTERS = frozenset({"channel", "team", "category", "automated"})
DELTA_DAYS = "t.day >= :first_day AND t.day < :end_day"
DAY = timedelta(days=1)
MIDNIGHT = time(tzinfo=UTC)


def _outbound_facts(keys: Sequence[str], filters: str, since: str, until: str) -> str:
    flags = ", ".join(f"t.{flag}::int AS {flag}" for flag in OUTCOME_FLAGS)
    return (
        f"SELECT t.n{_group_select(keys)}, 1 AS contacts, {flags}"
        f" FROM contact_facts t{_with_profile(keys)} WHERE t.tenant_id = :tenant_id"
        f" AND t.direction = 'outbound' AND t.occurred_at >= {since}"
        f" AND t.occurred_at < {until}{filters}"
    )


def _rolled_up(table: str, keys: Sequence[str], filters: str, days: str) -> str:
    counts = ", ".join(f"t.{count}" for count in ROLLUP_COUNTS)
    return (
        f"SELECT t.n{_group_select(keys)}, {counts} FROM {table} t"
        f" WHERE t.tenant_id = :tenant_id AND {days}{filters}"
    )


def outcomes_sql(keys: Sequence[str], filters: str, *, rolled_up: bool) -> str:
    """Outcomes per group and follow-up number. ``rolled_up``: the UTC months whole in the
    range from the month rollups, the other whole UTC days from the day rollups, the deltas
    not folded yet of every whole day, and the hours at either end from the facts (see
    ``Spans``); otherwise every contact from the facts."""
    day_rows = (
        "t.span = 'day' AND ((t.day >= :first_day AND t.day < :first_month)"
        " OR (t.day >= :end_month AND t.day < :end_day))"
    )
    month_rows = "t.span = 'month' AND t.day >= :first_month AND t.day < :end_month"
    parts = (
        [
            _outbound_facts(keys, filters, ":since", ":head_until"),
            _rolled_up("outcome_rollups", keys, filters, month_rows),
            _rolled_up("outcome_rollups", keys, filters, day_rows),
            _rolled_up("outcome_rollup_deltas", keys, filters, DELTA_DAYS),
            _outbound_facts(keys, filters, ":tail_since", ":until"),
        ]
        if rolled_up
        else [_outbound_facts(keys, filters, ":since", ":until")]
    )
    groups = _group_names(keys)
    return (
        f"SELECT n{groups}, {OUTCOME_SUMS} FROM ({' UNION ALL '.join(parts)}) AS t"
        f" GROUP BY n{groups} HAVING sum(contacts) > 0"
        f" ORDER BY {', '.join([*_group_order(keys), 'n'])}"
    )


@dataclass(frozen=True, slots=True)
class Spans:
    """How a range splits over the outcome rollups: the UTC days wholly inside it
    ``[first_day, end_day)``, the UTC months wholly inside those ``[first_month, end_month)``
    (equal: none), and the hours before and after the days, read from the facts."""

    first_day: date
    end_day: date
    first_month: date
    end_month: date

    @classmethod
    def of(cls, window: Window) -> "Spans | None":
        """The spans of a range, if it holds a whole UTC day."""
        since, until = window.since.astimezone(UTC), window.until.astimezone(UTC)
        first_day = since.date() + (DAY if since.timetz() != MIDNIGHT else timedelta())
        end_day = until.date()
        if first_day >= end_day:
            return None
        month_of_first = first_day.replace(day=1)
        first_month = (
            first_day if first_day == month_of_first else (month_of_first + 31 * DAY).replace(day=1)
        )
        end_month = max(end_day.replace(day=1), first_month)
        if first_month >= end_month:
            first_month = end_month = end_day
        return cls(first_day, end_day, first_month, end_month)

    def parameters(self) -> dict[str, Any]:
        return {
            "first_day": self.first_day, "end_day": self.end_day,
            "first_month": self.first_month, "end_month": self.end_month,
            "head_until": datetime.combine(self.first_day, MIDNIGHT),
            "tail_since": datetime.combine(self.end_day, MIDNIGHT),
        }  # fmt: skip


async def outcomes(
    session: AsyncSession, tenant_id: uuid.UUID, window: Window, *, keys: Sequence[str],
    filters: Filters,
) -> list[RowMapping]:  # fmt: skip
    """Rows of ``n``, ``g0`` (the group value, with a key) and the counts."""
    where, params = _filters(filters)
    params |= _window(tenant_id, window)
    filtered = (name for name in FILTER_COLUMNS if getattr(filters, name) is not None)
    rolled_up = ROLLED_UP_KEYS.issuperset(keys) and ROLLED_UP_FILTERS.issuperset(filtered)
    spans = Spans.of(window) if rolled_up else None
    if spans is not None:
        params |= spans.parameters()
    sql = outcomes_sql(keys, where, rolled_up=spans is not None)
    result = await session.execute(text(sql), params)
    return list(result.mappings())


OWNER_COLUMNS = {"owner_rep": "c.owner_rep", "owner_team": "c.owner_team"}
# A stored schedule's status now, as the lists compare it (app.frequency.list_queries).
STATUS_NOW = STATUS.replace("$3", ":now")
STATUS_COUNTS = ", ".join(
    f"count(*) FILTER (WHERE {STATUS_NOW} = '{status}') AS {status}_now"
    for status in ("due", "overdue", "over_contacted", "suppressed")
)


def owners_sql(owner: str) -> str:
    return (
        f"SELECT {OWNER_COLUMNS[owner]} AS owner, count(*) AS customers, {STATUS_COUNTS}"
        " FROM customers c LEFT JOIN customer_schedules s ON s.tenant_id = c.tenant_id"
        " AND s.customer_id = c.customer_id WHERE c.tenant_id = :tenant_id"
        f' GROUP BY 1 ORDER BY {OWNER_COLUMNS[owner]} COLLATE "C" NULLS LAST'
    )


async def owners_now(
    session: AsyncSession, tenant_id: uuid.UUID, owner: str, now: datetime
) -> list[RowMapping]:
    """Per owner now (null: none), its customers and how many are due, overdue,
    over-contacted and suppressed now, by their stored schedules."""
    params = {"tenant_id": tenant_id, "now": now}
    return list((await session.execute(text(owners_sql(owner)), params)).mappings())


def follow_ups_sql(owner: str) -> str:
    return (
        f"SELECT {OWNER_COLUMNS[owner]} AS owner, count(*) AS follow_ups,"
        " count(*) FILTER (WHERE f.late) AS late FROM contact_facts f JOIN customers c"
        " ON c.tenant_id = f.tenant_id AND c.customer_id = f.customer_id"
        " WHERE f.tenant_id = :tenant_id AND f.direction = 'outbound' AND NOT f.automated"
        " AND f.occurred_at >= :since AND f.occurred_at < :until GROUP BY 1"
    )


async def follow_ups(
    session: AsyncSession, tenant_id: uuid.UUID, window: Window, owner: str
) -> list[RowMapping]:
    """Per owner now, the outbound, non-automated contacts of the range and the late ones
    among them (each judged before this is read)."""
    params = _window(tenant_id, window)
    return list((await session.execute(text(follow_ups_sql(owner)), params)).mappings())
