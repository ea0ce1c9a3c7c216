"""Stored verdicts beside live ones: what the refresher keeps of each customer (its
``customer_schedules`` row, its ``status_documents`` row, its refresh mark) and what the
engine says of it when asked now, for the integration and the reliability tests alike."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app import cadence
from app.customers import repository as customers_repo
from app.db import driver_fetch
from app.frequency import documents, judging, refreshing
from app.policies import service as policies

# The columns of a schedule that lists and queues read (refreshed_at and computed_seq are
# bookkeeping: when and for which mark it was stored).
SCHEDULE_FIELDS = (
    "policy_version", "rule", "due_at", "overdue_at", "never_contacted", "suppressed_until",
    "over_until", "recheck_at", "weight", "owner_rep", "owner_team", "segment", "stage",
)  # fmt: skip

# What a schedule keeps that depends on how finely the activity was read (a day read as one
# bucket counts from its first instant, so its changes come early): equal to the verdict of
# the instant it was stored, not always to one judged later from the same data.
READ_DEPENDENT = ("recheck_at", "over_until")
SCHEDULE_FIELDS_LATER = tuple(name for name in SCHEDULE_FIELDS if name not in READ_DEPENDENT)

STORED = text(
    "SELECT c.customer_id, m.seq AS mark_seq, m.claimed_until, s.customer_id IS NOT NULL"
    " AS has_schedule, "
    + ", ".join(f"s.{name}" for name in SCHEDULE_FIELDS)
    + ", s.computed_seq AS schedule_seq, s.refreshed_at, d.document, d.computed_at,"
    " d.valid_until, d.computed_seq AS document_seq"
    " FROM customers c"
    " LEFT JOIN customer_schedules s ON s.tenant_id = c.tenant_id"
    " AND s.customer_id = c.customer_id"
    " LEFT JOIN status_documents d ON d.tenant_id = c.tenant_id"
    " AND d.customer_id = c.customer_id"
    " LEFT JOIN refresh_marks m ON m.tenant_id = c.tenant_id AND m.customer_id = c.customer_id"
    " WHERE c.tenant_id = :tenant_id ORDER BY c.customer_id"
)


@dataclass(frozen=True, slots=True)
class Stored:
    """One customer's stored verdict (None where nothing is stored) and its mark, if any."""

    customer_id: str
    mark_seq: int | None
    claimed_until: datetime | None
    schedule: dict[str, Any] | None
    schedule_seq: int | None
    refreshed_at: datetime | None
    document: bytes | None
    computed_at: datetime | None
    valid_until: datetime | None
    document_seq: int | None

    def is_valid_at(self, at: datetime) -> bool:
        """Whether a read at ``at`` may serve the document (the mark aside)."""
        return (
            self.document is not None
            and self.computed_at is not None
            and self.computed_at <= at
            and (self.valid_until is None or at < self.valid_until)
        )


async def stored_verdicts(session: AsyncSession, tenant_id: uuid.UUID) -> dict[str, Stored]:
    """Every customer of the tenant with what is stored of it, by customer id."""
    rows = (await session.execute(STORED, {"tenant_id": tenant_id})).mappings()
    return {
        row["customer_id"]: Stored(
            customer_id=row["customer_id"],
            mark_seq=row["mark_seq"],
            claimed_until=row["claimed_until"],
            schedule={name: row[name] for name in SCHEDULE_FIELDS} if row["has_schedule"] else None,
            schedule_seq=row["schedule_seq"],
            refreshed_at=row["refreshed_at"],
            document=row["document"],
            computed_at=row["computed_at"],
            valid_until=row["valid_until"],
            document_seq=row["document_seq"],
        )
        for row in rows
    }


@dataclass(frozen=True, slots=True)
class Live:
    """A customer's verdict judged now by the engine: as the refresher would store it."""

    policy: cadence.Policy
    profile: cadence.Profile
    status: cadence.Status

    @property
    def encoded(self) -> bytes:
        return documents.encode(self.profile.customer_id, self.status)

    @property
    def document(self) -> dict[str, Any]:
        """The stored form (no ``as_of``), parsed."""
        parsed: dict[str, Any] = orjson.loads(self.encoded)
        return parsed

    def read_at(self, at: datetime) -> dict[str, Any]:
        """What ``GET /v1/customers/{id}/status`` should answer at ``at``, parsed."""
        parsed: dict[str, Any] = orjson.loads(documents.at_instant(self.encoded, at))
        return parsed

    def schedule(self) -> dict[str, Any]:
        row = refreshing.schedule_row(self.policy, self.profile, self.status, self.status.as_of)
        return {name: row[name] for name in SCHEDULE_FIELDS}


async def live_one(
    session: AsyncSession, tenant_id: uuid.UUID, customer_id: str, at: datetime
) -> Live:
    """One customer judged at ``at`` as a live read judges it (``judge_customer``)."""
    policy, profile, _, status = await judging.judge_customer(session, tenant_id, customer_id, at)
    return Live(policy, profile, status)


async def live_many(
    session: AsyncSession, tenant_id: uuid.UUID, customer_ids: Sequence[str], at: datetime
) -> dict[str, Live]:
    """Many customers judged at ``at`` together, as the refresher and the lists judge them."""
    judged: dict[str, Live] = {}
    ids = sorted(set(customer_ids))
    fetch = await driver_fetch(session)
    for start in range(0, len(ids), refreshing.CHUNK):
        rows = await customers_repo.with_policy_version(
            session, tenant_id, ids[start : start + refreshing.CHUNK]
        )
        if not rows:
            continue
        policy = await policies.policy_version(session, tenant_id, rows[0]["policy_version"])
        profiles = {row["customer_id"]: judging.to_profile(row) for row in rows}
        verdicts = await judging.judge_many(fetch, tenant_id, policy, [*profiles.values()], at)
        judged |= {c: Live(policy, profiles[c], status) for c, (_, status) in verdicts.items()}
    return judged


MISSING = "<missing>"


def differences(expected: Any, actual: Any, path: str = "") -> list[str]:
    """Where two JSON-like values differ, one line per leaf (``expected`` is the live one)."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        found: list[str] = []
        for key in sorted(set(expected) | set(actual), key=str):
            found += differences(
                expected.get(key, MISSING), actual.get(key, MISSING), f"{path}.{key}"
            )
        return found
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        return [
            line
            for i, (e, a) in enumerate(zip(expected, actual, strict=True))
            for line in differences(e, a, f"{path}[{i}]")
        ]
    if expected == actual:
        return []
    return [f"{path or '.'}: live {expected!r}, stored/served {actual!r}"]


def stored_problems(stored: Stored, then: Live, later: Live | None = None) -> list[str]:
    """How a customer's stored schedule and document differ from ``then``, the verdict
    judged at the instant they were stored (``computed_at``), and from ``later``, one judged
    at an instant a read may serve the document (recheck_at and over_until aside there: see
    READ_DEPENDENT); one line per field, naming the customer. None if they agree."""
    who = stored.customer_id
    if stored.schedule is None or stored.document is None:
        return [f"{who}: no stored schedule or document, and no mark"]
    found = []
    for live, fields in [(then, SCHEDULE_FIELDS), (later, SCHEDULE_FIELDS_LATER)]:
        if live is None:
            continue
        at = f"judged live at {live.status.as_of.isoformat()}"
        found += [
            f"{who} document{line} ({at})" for line in differences(live.document, _parsed(stored))
        ]
        schedule = live.schedule()
        found += [
            f"{who} schedule{line} ({at})"
            for name in fields
            for line in differences(schedule[name], stored.schedule[name], f".{name}")
        ]
    if stored.schedule_seq != stored.document_seq:
        found.append(
            f"{who}: schedule seq {stored.schedule_seq} but document seq {stored.document_seq}"
        )
    return found


def _parsed(stored: Stored) -> dict[str, Any]:
    assert stored.document is not None
    parsed: dict[str, Any] = orjson.loads(stored.document)
    return parsed
