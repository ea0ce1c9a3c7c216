"""The analytics reports: the SQL counts the contact facts (the tenant's pending marks
refreshed first, as the lists do, so a report counts every touch stored before it), this
module names periods and groups and rounds rates; compliance has any follow-up of its range
that is not judged yet judged first (``app.analytics.lateness``)."""

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from app.analytics import lateness, repository
from app.analytics.schemas import (
    ComplianceReport,
    ContactsKey,
    ContactsReport,
    Filters,
    Interval,
    OutcomeRow,
    OutcomesKey,
    OutcomesReport,
    OwnerKey,
    Window,
)
from app.db import Database
from app.facts.repository import OUTCOME_FLAGS
from app.frequency.list_queries import ListScope
from app.frequency.refreshing import count_pending_facts, refresh_stale, tenant_is_stale
from app.policies import repository as policies_repo
from app.policies import service as policies

PLACES = 10_000  # rates are rounded to 4 decimal places
PENDING_ROUND = 500  # customers whose pending facts a report counts in one transaction


def rate(part: int, whole: int) -> float | None:
    """``part / whole`` (both counts, so never negative) rounded half up to 4 places, in
    integers (exact, and a report has hundreds); None when ``whole`` is 0."""
    if whole == 0:
        return None
    return (2 * part * PLACES + whole) // (2 * whole) / PLACES


def period_start(local: datetime | None, zone: ZoneInfo) -> str | None:
    """A period's first instant written in the zone with its offset, from its local start as
    ``date_trunc`` gives it; a local midnight the clocks skipped becomes the first instant
    after the gap."""
    if local is None:
        return None
    return local.replace(tzinfo=zone).astimezone(UTC).astimezone(zone).isoformat()


async def active_timezone(session: AsyncSession, tenant_id: uuid.UUID) -> str:
    """The time zone of the tenant's active policy (the built-in default's until it sets
    one), whose version is parsed once."""
    version = await policies_repo.active_version(session, tenant_id)
    return (await policies.policy_version(session, tenant_id, version)).timezone


async def counting_every_touch(
    session: AsyncSession, db: Database, tenant_id: uuid.UUID, now: datetime
) -> None:
    """Refresh the tenant's marked customers and count the contact facts lists left pending,
    so the report counts every touch stored before it. The session hands its connection
    back meanwhile: a report holds one connection at a time, however many run at once."""
    await session.commit()
    if not await tenant_is_stale(db, tenant_id, now):
        return
    await refresh_stale(db, tenant_id, ListScope.of(), now, count_facts=True)
    while await count_pending_facts(db, PENDING_ROUND, tenant_id):
        pass


def _group(keys: Sequence[str], row: Mapping[Any, Any]) -> dict[str, Any]:
    return {key: row[f"g{i}"] for i, key in enumerate(keys)}


CONTACT_COUNTS = (
    "contacts", "outbound", "inbound", "automated", "customers", "effective", "responded",
)  # fmt: skip


def _contact_counts(row: Mapping[Any, Any]) -> dict[str, Any]:
    counts = {name: row[name] for name in CONTACT_COUNTS}
    return {**counts, "response_rate": rate(row["responded"], row["outbound"])}


async def contacts(
    session: AsyncSession,
    db: Database,
    tenant_id: uuid.UUID,
    window: Window,
    *,
    interval: Interval | None,
    keys: Sequence[ContactsKey],
    filters: Filters,
    now: datetime,
) -> ContactsReport:
    await counting_every_touch(session, db, tenant_id, now)
    timezone = await active_timezone(session, tenant_id)
    names = [key.value for key in keys]
    *rows, totals = await repository.contact_volume(
        session, tenant_id, window, keys=names, interval=interval.value if interval else None,
        timezone=timezone, filters=filters,
    )  # fmt: skip
    zone = ZoneInfo(timezone)
    return ContactsReport.model_validate(
        {
            "from": window.since, "to": window.until, "interval": interval,
            "timezone": timezone, "group_by": keys,
            "rows": [
                {"period_start": period_start(row["period"], zone), "group": _group(names, row),
                 **_contact_counts(row)}
                for row in rows
            ],
            "totals": _contact_counts(totals),
        }
    )  # fmt: skip


def _outcome_row(keys: Sequence[str], row: Mapping[Any, Any]) -> OutcomeRow:
    """A row as built here, not validated again: counts from the database, rates of them."""
    contacts = row["contacts"]
    return OutcomeRow.model_construct(
        **{
            "n": row["n"], "group": _group(keys, row), "contacts": contacts,
            **{flag: row[flag] for flag in OUTCOME_FLAGS},
            "open_rate": rate(row["opened"], contacts),
            "reply_rate": rate(row["replied"], contacts),
            "meeting_rate": rate(row["meeting_booked"], contacts),
            "connect_rate": rate(row["completed"], contacts),
        }
    )  # fmt: skip


async def touch_outcomes(
    session: AsyncSession,
    db: Database,
    tenant_id: uuid.UUID,
    window: Window,
    *,
    keys: Sequence[OutcomesKey],
    filters: Filters,
    now: datetime,
) -> OutcomesReport:
    await counting_every_touch(session, db, tenant_id, now)
    timezone = await active_timezone(session, tenant_id)
    names = [key.value for key in keys]
    rows = await repository.outcomes(session, tenant_id, window, keys=names, filters=filters)
    return OutcomesReport.model_validate(
        {
            "from": window.since, "to": window.until, "timezone": timezone, "group_by": keys,
            "rows": [_outcome_row(names, row) for row in rows],
        }
    )  # fmt: skip


COMPLIANCE_COUNTS = (
    "customers", "due_now", "overdue_now", "over_contacted_now", "suppressed_now",
    "follow_ups", "late",
)  # fmt: skip


def _compliance_counts(counts: Mapping[str, int]) -> dict[str, Any]:
    follow_ups, late = counts["follow_ups"], counts["late"]
    return {**counts, "on_time_rate": rate(follow_ups - late, follow_ups)}


async def compliance(
    session: AsyncSession,
    db: Database,
    tenant_id: uuid.UUID,
    window: Window,
    *,
    owner: OwnerKey,
    now: datetime,
) -> ComplianceReport:
    """Owners' customers by their status now (the whole tenant's stale verdicts refreshed
    first, as the lists do) and their follow-ups in the range, late or not."""
    await counting_every_touch(session, db, tenant_id, now)
    owners = await repository.owners_now(session, tenant_id, owner.value, now)
    await lateness.judge_range(session, db, tenant_id, window)
    sent = {
        row["owner"]: {"follow_ups": row["follow_ups"], "late": row["late"]}
        for row in await repository.follow_ups(session, tenant_id, window, owner.value)
    }
    await session.commit()
    nothing_sent = {"follow_ups": 0, "late": 0}
    rows = [
        {**_compliance_counts({**row, **sent.get(row["owner"], nothing_sent)})} for row in owners
    ]
    totals = {name: sum(row[name] for row in rows) for name in COMPLIANCE_COUNTS}
    return ComplianceReport.model_validate(
        {
            "from": window.since, "to": window.until, "group_by": owner, "rows": rows,
            "totals": _compliance_counts(totals),
        }
    )  # fmt: skip
