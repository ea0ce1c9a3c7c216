"""Issue 10: the contact facts analytics read equal a recount from the touches, after any
sequence of writes: contacts and engagements posted one by one and in batches, late ones
(occurred before touches already stored), repeats of stored ones, engagements pointing at
another customer's contact, with the refresher catching up now and then in between (so
follow-up numbers carry on from facts stored by earlier rounds), lists of the whole tenant
(which refresh verdicts and leave the facts pending), and the background judge of
lateness after it: then every follow-up is late exactly when /status an instant before it says
so (a late touch has what follows it judged again).

The recount is the facts statement run over every customer's whole history, whatever was
stored before (no follow-up number carried over: each run starts at the first contact)."""

import os
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.analytics import lateness
from app.clock import FixedClock
from app.facts import repository as facts
from app.frequency.refreshing import fold_outcome_rollups
from tests.conftest import NOW, Tenant
from tests.integration.helpers import drain_refresh_marks, tenant_id_of, z

CUSTOMERS = ("c-0", "c-1", "c-2")
EARLIEST = datetime.fromisoformat("0001-01-01T00:00:00+00:00")


@dataclass(frozen=True)
class Contact:
    customer: str
    hours_ago: int
    direction: str
    automated: bool
    outcome: str | None


@dataclass(frozen=True)
class Engagement:
    customer: str
    target: int  # which contact posted so far (modulo their number)
    hours_after: int
    outcome: str


@dataclass(frozen=True)
class Repeat:
    target: int


@dataclass(frozen=True)
class CatchUp:
    pass


@dataclass(frozen=True)
class Fold:
    """The refresher folding a few of the outcome deltas into the rollups."""

    deltas: int


@dataclass(frozen=True)
class ListRead:
    """A list of the whole tenant: it refreshes verdicts and leaves their facts pending."""


contacts = st.builds(
    Contact,
    customer=st.sampled_from(CUSTOMERS),
    hours_ago=st.integers(1, 40 * 24),
    direction=st.sampled_from(["outbound", "outbound", "inbound"]),
    automated=st.booleans(),
    outcome=st.sampled_from([None, "completed", "replied", "meeting_booked", "no_answer"]),
)
engagements = st.builds(
    Engagement,
    customer=st.sampled_from(CUSTOMERS),
    target=st.integers(0, 50),
    hours_after=st.integers(0, 10 * 24),
    outcome=st.sampled_from(["opened", "clicked", "replied", "meeting_booked", "converted"]),
)
operations = st.one_of(
    contacts,
    contacts,
    st.lists(contacts, min_size=2, max_size=6),
    engagements,
    st.builds(Repeat, st.integers(0, 50)),
    st.just(CatchUp()),
    st.just(ListRead()),
    st.builds(Fold, st.integers(1, 5)),
)

# Outcome counts per span (day or month), day and the rest of the rollup key: the rollups and
# the deltas not folded yet (each in its day and its month), summed; and from the facts.
KEY = facts.ROLLUP_KEY.removeprefix("tenant_id, ")
KEY_COLUMNS = 1 + len(KEY.split(", "))
SUMS = ", ".join(f"sum({count})" for count in facts.ROLLUP_COUNTS)
MONTH = "date_trunc('month', day)::date"
COUNTS = ", ".join(facts.ROLLUP_COUNTS)
ROLLED_UP = f"""
SELECT span, {KEY}, {SUMS} FROM (
    SELECT span, {KEY}, {COUNTS} FROM outcome_rollups WHERE tenant_id = $1
    UNION ALL SELECT 'day', {KEY}, {COUNTS} FROM outcome_rollup_deltas WHERE tenant_id = $1
    UNION ALL SELECT 'month', {KEY.replace("day", MONTH)}, {COUNTS}
    FROM outcome_rollup_deltas WHERE tenant_id = $1
) AS r GROUP BY span, {KEY} HAVING sum(contacts) <> 0
"""
FLAGS = ", ".join(f"count(*) FILTER (WHERE {flag})" for flag in facts.ROLLUP_COUNTS[1:])
COUNTED = f"""
SELECT span, {KEY}, count(*), {FLAGS} FROM (
    SELECT 'day' AS span, (occurred_at AT TIME ZONE 'UTC')::date AS day, * FROM contact_facts
    UNION ALL SELECT 'month', date_trunc('month', occurred_at AT TIME ZONE 'UTC')::date, *
    FROM contact_facts
) AS f WHERE tenant_id = $1 AND direction = 'outbound' GROUP BY span, {KEY}
"""

Operation = Contact | Engagement | Repeat | CatchUp | ListRead | Fold | list[Contact]


class Run:
    def __init__(self, app: FastAPI, clock: FixedClock, tenant: Tenant) -> None:
        self.app, self.clock, self.tenant = app, clock, tenant
        self.posted: list[dict[str, Any]] = []

    async def post(self, bodies: list[dict[str, Any]]) -> None:
        admin = await self.tenant.client("admin")
        response = await admin.post("/v1/touches/batch", json={"touches": bodies})
        assert response.status_code == 200, response.text
        self.posted += [b for b in bodies if b["kind"] == "contact"]

    def contact(self, c: Contact) -> dict[str, Any]:
        return {
            "customer_id": c.customer, "channel": "email", "kind": "contact",
            "occurred_at": z(NOW - timedelta(hours=c.hours_ago)), "direction": c.direction,
            "automated": c.automated, "outcome": c.outcome, "source": "crm",
            "external_id": uuid.uuid4().hex,
        }  # fmt: skip

    async def apply(self, op: Operation) -> None:
        if isinstance(op, list):
            await self.post([self.contact(c) for c in op])
        elif isinstance(op, Contact):
            await self.post([self.contact(op)])
        elif isinstance(op, Engagement) and self.posted:
            target = self.posted[op.target % len(self.posted)]
            at = datetime.fromisoformat(target["occurred_at"]) + timedelta(hours=op.hours_after)
            await self.post([{
                "customer_id": op.customer, "channel": "email", "kind": "engagement",
                "occurred_at": z(min(at, NOW)), "outcome": op.outcome, "source": "crm",
                "external_id": uuid.uuid4().hex, "ref_external_id": target["external_id"],
            }])  # fmt: skip
        elif isinstance(op, Repeat) and self.posted:
            await self.post([self.posted[op.target % len(self.posted)]])
        elif isinstance(op, ListRead):
            admin = await self.tenant.client("admin")
            response = await admin.get("/v1/statuses", params={"limit": 1})
            assert response.status_code == 200, response.text
        elif isinstance(op, Fold):
            await fold_outcome_rollups(self.app.state.database, op.deltas)
        elif isinstance(op, CatchUp):  # the refresher, then the background judge of lateness
            await drain_refresh_marks(self.app, self.clock)
            await self.judge_all(await tenant_id_of(self.app, self.tenant.name))

    async def stored_facts(self, tenant_id: uuid.UUID) -> dict[Any, tuple[Any, ...]]:
        async with self.app.state.database.driver() as driver:
            rows = await driver.fetch(
                f"SELECT touch_id, {', '.join(facts.FACT_COLUMNS)} FROM contact_facts"
                " WHERE tenant_id = $1",
                tenant_id,
            )
        return {r["touch_id"]: tuple(r[c] for c in facts.FACT_COLUMNS if c != "late") for r in rows}

    async def judge_all(self, tenant_id: uuid.UUID) -> None:
        while await lateness.judge_tenant(self.app.state.database, tenant_id):
            pass

    async def judged_as_the_engine_judges(self, tenant_id: uuid.UUID) -> None:
        """Once the follow-ups left are judged, each is late exactly when /status an instant
        before it says so (a late touch has what follows it judged again)."""
        await self.judge_all(tenant_id)
        admin = await self.tenant.client("admin")
        async with self.app.state.database.driver() as driver:
            rows = await driver.fetch(
                "SELECT customer_id, occurred_at, late FROM contact_facts WHERE tenant_id = $1"
                " AND direction = 'outbound' AND NOT automated",
                tenant_id,
            )
        for row in rows:
            response = await admin.get(
                f"/v1/customers/{row['customer_id']}/status",
                params={"as_of": z(row["occurred_at"] - timedelta(microseconds=1))},
            )
            overdue_at = response.json()["next_follow_up"]["overdue_at"]
            late = overdue_at is not None and row["occurred_at"] >= datetime.fromisoformat(
                overdue_at
            )
            assert row["late"] is late, (row, overdue_at)

    async def outcome_counts(self, tenant_id: uuid.UUID, query: str) -> dict[Any, Any]:
        async with self.app.state.database.driver() as driver:
            rows = await driver.fetch(query, tenant_id)
        return {tuple(r)[:KEY_COLUMNS]: tuple(r)[KEY_COLUMNS:] for r in rows}

    async def rolled_up(self, tenant_id: uuid.UUID) -> dict[Any, Any]:
        """Outcome counts per rollup key, the rollups and the deltas not folded yet summed."""
        return await self.outcome_counts(tenant_id, ROLLED_UP)

    async def counted(self, tenant_id: uuid.UUID) -> dict[Any, Any]:
        """Outcome counts per rollup key, from the outbound facts."""
        return await self.outcome_counts(tenant_id, COUNTED)

    async def recount(self, tenant_id: uuid.UUID) -> None:
        everyone = dict.fromkeys(CUSTOMERS, EARLIEST)
        async with self.app.state.database.driver() as driver, driver.transaction():
            await facts.refresh(driver.fetch, tenant_id, everyone)


@settings(
    max_examples=int(os.environ.get("TOUCHBASE_PROPERTY_EXAMPLES", "30")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(operations, min_size=3, max_size=25))
async def test_stored_facts_equal_a_recount_from_the_touches(
    app: FastAPI, clock: FixedClock, ops: list[Operation]
) -> None:
    tenant = Tenant(app, f"t-{uuid.uuid4().hex[:10]}")
    try:
        await tenant.key("admin")  # the tenant exists before anything is posted
        run = Run(app, clock, tenant)
        for op in ops:
            await run.apply(op)
        await drain_refresh_marks(app, clock)
        tenant_id = await tenant_id_of(app, tenant.name)
        stored = await run.stored_facts(tenant_id)
        contacts_posted = {b["external_id"] for b in run.posted}
        assert len(stored) == len(contacts_posted)
        await run.judged_as_the_engine_judges(tenant_id)
        await run.recount(tenant_id)
        assert stored == await run.stored_facts(tenant_id)
        assert await run.rolled_up(tenant_id) == await run.counted(tenant_id)
    finally:
        await tenant.close()
