"""The facts analytics count, kept per contact beside the touches: what each contact's
history made of it (its follow-up number ``n``, whether it was effective, answered, opened,
clicked...). A write marks its customers with the earliest instant whose facts it may have
changed (``refresh_marks.facts_from``); the refresher recomputes the facts of those
customers' contacts from 7 days before that instant (an inbound contact answers the week
before it) in one statement per round, so in-order writes cost a few rows each. Reports then
aggregate facts, never scanning touches or walking histories.

``late`` (a follow-up at or after the ``overdue_at`` of the status just before it) needs the
engine's verdict just before the follow-up. When a follow-up comes in order (it is the
earliest contact the refresh counts, and the customer's stored status was computed before
it, under the active policy, and still held just before it), that verdict is the stored
one, and the refresh reads ``late`` off it. Otherwise ``app.analytics.lateness`` judges it
with the engine and keeps it; it is forgotten again when an earlier touch of the customer
comes in. It is judged under the policy and profile of that moment: a later change of
either does not rewrite the history."""

import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from app.db import Fetch, erase_customer_rows
from app.policies import repository as policies

RESPONSES = ("replied", "meeting_booked", "converted")
MAX_N = 10  # "10 or more"
ANSWER_HOURS = 168  # an inbound contact within 7 days after an outbound one answers it


def _listed(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{value}'" for value in values)


# A response cuts a customer's outbound contacts into runs: an inbound contact, or an
# engagement that replied, booked a meeting or converted. At one instant, an outbound contact
# comes before a response (it is what was answered).
IS_RESPONSE = (
    f"(t.kind = 'contact' AND t.direction = 'inbound') OR (t.kind = 'engagement'"
    f" AND t.outcome IN ({_listed(RESPONSES)}))"
)
FACT_COLUMNS = (
    "customer_id", "occurred_at", "channel", "direction", "category", "automated",
    "actor_team", "actor_rep_id", "actor_partner_id", "n", "effective", "responded", "opened",
    "clicked", "replied", "meeting_booked", "converted", "completed", "late",
)  # fmt: skip
_COLUMNS = ", ".join(FACT_COLUMNS)
_CHANGED = " OR ".join(f"f.{c} IS DISTINCT FROM excluded.{c}" for c in FACT_COLUMNS)
_SET = ", ".join(f"{c} = excluded.{c}" for c in FACT_COLUMNS)
# A follow-up not judged yet is written again whenever it is counted, unchanged or not: a
# judgement of it read before (from the history as it was) then finds a new row version and
# is not stored (``JUDGED``).
_UNJUDGED = "(f.late IS NULL AND f.direction = 'outbound' AND NOT f.automated)"

# $1 the tenant, $2 customer ids, $3 for each the instant its facts may have changed from.
# Each contact from 7 days before that instant is counted again; a follow-up number carries on
# from the stored fact of the last outbound contact before them (none, or a response since:
# 0), so the work is the customer's recent contacts, whatever its history.
REFRESH = f"""
WITH kept AS (
    SELECT expired_before + interval '{ANSWER_HOURS} hours' AS since
    FROM touch_retention WHERE tenant_id = $1
), todo AS (
    SELECT customer_id, asked, since, since - interval '{ANSWER_HOURS} hours' AS start
    FROM (SELECT u.customer_id, u.asked, greatest(u.asked, (SELECT since FROM kept)) AS since
          FROM unnest($2::text[], $3::timestamptz[]) AS u(customer_id, asked)) AS a
), before AS (
    -- the stored verdict, when it is the status an instant before the earliest contact
    -- counted: computed before it under the active policy, from every touch before it (a
    -- touch stored since would have asked from earlier), and not yet changed by time
    SELECT todo.customer_id, todo.since AS at, s.overdue_at
    FROM todo JOIN customer_schedules s ON s.tenant_id = $1 AND s.customer_id = todo.customer_id
    JOIN status_documents d ON d.tenant_id = $1 AND d.customer_id = todo.customer_id
        AND d.computed_at = s.refreshed_at
    WHERE todo.asked = todo.since AND s.refreshed_at < todo.since
        AND (d.valid_until IS NULL OR todo.since <= d.valid_until)
        AND s.policy_version = {policies.active_version_sql("$1")}
), seed AS (
    SELECT todo.customer_id, CASE WHEN p.n IS NULL OR EXISTS (
            SELECT 1 FROM touches t WHERE t.tenant_id = $1 AND t.customer_id = todo.customer_id
                AND t.occurred_at >= p.occurred_at AND t.occurred_at < todo.start
                AND ({IS_RESPONSE}))
        THEN 0 ELSE p.n END AS base
    FROM todo LEFT JOIN LATERAL (
        SELECT f.occurred_at, f.n FROM contact_facts f
        WHERE f.tenant_id = $1 AND f.customer_id = todo.customer_id
            AND f.direction = 'outbound' AND f.occurred_at < todo.start
        ORDER BY f.occurred_at DESC, f.touch_id DESC LIMIT 1
    ) AS p ON true
), events AS (
    SELECT t.id, t.customer_id, t.occurred_at, t.kind, t.channel, t.direction, t.category,
        t.automated, t.actor_team, t.actor_rep_id, t.actor_partner_id, t.outcome, t.source,
        t.external_id, ({IS_RESPONSE}) AS is_response,
        t.kind = 'contact' AND t.direction = 'outbound' AS is_outbound, todo.since
    FROM todo JOIN touches t ON t.tenant_id = $1 AND t.customer_id = todo.customer_id
        AND t.occurred_at >= todo.start
    WHERE t.kind = 'contact' OR ({IS_RESPONSE})
), runs AS (
    SELECT e.*, count(*) FILTER (WHERE e.is_response) OVER (PARTITION BY e.customer_id
        ORDER BY e.occurred_at, e.is_response, e.id ROWS UNBOUNDED PRECEDING) AS run,
        -- an inbound contact in the week after (every one is among the events): one pass
        -- over the history, however dense it is
        coalesce(bool_or(e.kind = 'contact' AND e.direction = 'inbound') OVER (
            PARTITION BY e.customer_id ORDER BY e.occurred_at RANGE BETWEEN
            interval '1 microsecond' FOLLOWING AND interval '{ANSWER_HOURS} hours' FOLLOWING
        ), false) AS answered_within
    FROM events e
), numbered AS (
    SELECT r.*, CASE WHEN r.is_outbound THEN least({MAX_N},
        CASE WHEN r.run = 0 THEN s.base ELSE 0 END + count(*) FILTER (WHERE r.is_outbound)
        OVER (PARTITION BY r.customer_id, r.run ORDER BY r.occurred_at, r.is_response, r.id
              ROWS UNBOUNDED PRECEDING)) END AS n
    FROM runs r JOIN seed s ON s.customer_id = r.customer_id
), fresh AS (
    SELECT t.id, t.customer_id, t.occurred_at, t.channel, t.direction, t.category, t.automated,
        t.actor_team, t.actor_rep_id, t.actor_partner_id, t.n,
        t.outcome, coalesce(e.opened, false) AS opened, coalesce(e.clicked, false) AS clicked,
        coalesce(e.replied, false) AS e_replied, coalesce(e.meeting, false) AS e_meeting,
        coalesce(e.converted, false) AS e_converted,
        t.direction = 'outbound' AND t.answered_within AS answered,
        CASE WHEN t.occurred_at < t.since AND old.occurred_at = t.occurred_at THEN old.late
            WHEN b.at IS NOT NULL AND t.direction = 'outbound' AND NOT t.automated
            THEN coalesce(t.occurred_at >= b.overdue_at, false) END AS late
    FROM numbered t
    LEFT JOIN contact_facts old ON old.tenant_id = $1 AND old.touch_id = t.id
    LEFT JOIN before b ON b.customer_id = t.customer_id AND b.at = t.occurred_at
    LEFT JOIN LATERAL (
        SELECT bool_or(g.outcome IN ('opened', 'clicked')) AS opened,
            bool_or(g.outcome = 'clicked') AS clicked, bool_or(g.outcome = 'replied') AS replied,
            bool_or(g.outcome = 'meeting_booked') AS meeting,
            bool_or(g.outcome = 'converted') AS converted
        FROM touches g WHERE g.tenant_id = $1 AND g.source = t.source
            AND g.ref_external_id = t.external_id AND g.kind = 'engagement'
    ) AS e ON t.external_id IS NOT NULL
    WHERE t.kind = 'contact'
), facts AS (
    SELECT id, customer_id, occurred_at, channel, direction, category, automated, actor_team,
        actor_rep_id, actor_partner_id, n,
        coalesce(outcome IN ('completed', {_listed(RESPONSES)}), false)
            OR opened OR e_replied OR e_meeting OR e_converted AS effective,
        direction = 'outbound' AND (coalesce(outcome IN ({_listed(RESPONSES)}), false)
            OR e_replied OR e_meeting OR e_converted OR answered) AS responded,
        opened, clicked,
        outcome IS NOT DISTINCT FROM 'replied' OR e_replied
            OR (direction = 'outbound' AND answered) AS replied,
        outcome IS NOT DISTINCT FROM 'meeting_booked' OR e_meeting AS meeting_booked,
        outcome IS NOT DISTINCT FROM 'converted' OR e_converted AS converted,
        outcome IS NOT DISTINCT FROM 'completed' AS completed, late
    FROM fresh
), stored AS (
    INSERT INTO contact_facts AS f (tenant_id, touch_id, {_COLUMNS})
    SELECT $1, id, {_COLUMNS} FROM facts ORDER BY id
    ON CONFLICT (tenant_id, touch_id) DO UPDATE SET {_SET} WHERE {_CHANGED} OR {_UNJUDGED}
    RETURNING 1
), gone AS (
    DELETE FROM contact_facts f USING todo
    WHERE f.tenant_id = $1 AND f.customer_id = todo.customer_id AND f.occurred_at >= todo.start
        AND NOT EXISTS (SELECT 1 FROM touches t WHERE t.tenant_id = $1 AND t.id = f.touch_id
                        AND t.kind = 'contact' AND t.occurred_at >= todo.start)
    RETURNING 1
)
SELECT (SELECT count(*) FROM stored) AS stored, (SELECT count(*) FROM gone) AS gone
"""


CHUNK = 250  # customers a statement counts: a whole history (a first count) may be long

# One count of a customer's facts at a time, until its transaction ends, taken in customer
# order before the count reads: a count that read the touches before another one committed
# would write back the follow-up numbers it read then (the refreshers of every process, a
# report and a drain may count one customer at once).
TAKE_COUNTING = """
SELECT count(pg_advisory_xact_lock(hashtextextended('touchbase.facts:' || $1::uuid || '/' || c, 0)))
FROM unnest($2::text[]) AS u(c)
"""


async def refresh(fetch: Fetch, tenant_id: uuid.UUID, since: Mapping[str, datetime]) -> None:
    """Count again the facts of these customers' contacts from (7 days before) each instant,
    in the caller's transaction (in customer order, as every writer of facts). Never before
    what retention has expired (and the week an answer looks back): the touches there may
    be gone, and their facts are what analytics still count."""
    ids = sorted(since)
    for i in range(0, len(ids), CHUNK):
        chunk = ids[i : i + CHUNK]
        await fetch(TAKE_COUNTING, tenant_id, chunk)
        await fetch(REFRESH, tenant_id, chunk, [since[c] for c in chunk])


# Facts a list left for later (``PendingFacts``), from the earliest instant asked of each.
DEFER = """
INSERT INTO pending_facts AS p (tenant_id, customer_id, facts_from)
SELECT $1, u.customer_id, u.since
FROM unnest($2::text[], $3::timestamptz[]) AS u(customer_id, since) ORDER BY 2
ON CONFLICT (tenant_id, customer_id)
DO UPDATE SET facts_from = least(p.facts_from, excluded.facts_from)
"""


async def defer(fetch: Fetch, tenant_id: uuid.UUID, since: Mapping[str, datetime]) -> None:
    """Leave these customers' facts to be counted later (``count_pending``), from each
    instant. Taken first in its transaction: pending rows, then contact facts, then verdicts."""
    if since:
        ids = sorted(since)
        await fetch(DEFER, tenant_id, ids, [since[c] for c in ids])


# The next pending customers, their rows deleted by the transaction that counts their facts:
# of any tenant, skipping those another refresher counts; or of one tenant (a report), waiting
# for those.
_TAKE = """
DELETE FROM pending_facts p USING (
    SELECT tenant_id, customer_id FROM pending_facts {where}
    ORDER BY tenant_id, customer_id LIMIT {limit} FOR UPDATE{skip}) AS t
WHERE p.tenant_id = t.tenant_id AND p.customer_id = t.customer_id
RETURNING p.tenant_id, p.customer_id, p.facts_from
"""
TAKE_PENDING = _TAKE.format(where="", limit="$1", skip=" SKIP LOCKED")
TAKE_PENDING_OF_TENANT = _TAKE.format(where="WHERE tenant_id = $1", limit="$2", skip="")


async def count_pending(fetch: Fetch, limit: int, tenant_id: uuid.UUID | None = None) -> int:
    """Count the facts of up to ``limit`` customers left pending (of ``tenant_id`` only, if
    given), in the caller's transaction; how many were taken."""
    rows = await (
        fetch(TAKE_PENDING_OF_TENANT, tenant_id, limit)
        if tenant_id is not None
        else fetch(TAKE_PENDING, limit)
    )
    by_tenant: dict[uuid.UUID, dict[str, datetime]] = defaultdict(dict)
    for row in rows:
        by_tenant[row["tenant_id"]][row["customer_id"]] = row["facts_from"]
    for tenant, since in by_tenant.items():
        await refresh(fetch, tenant, since)
    return len(rows)


ERASE_PENDING = erase_customer_rows("pending_facts")


async def erase_pending(fetch: Fetch, tenant_id: uuid.UUID, customer_id: str) -> None:
    """Erasure, first of all: the customer's pending row, locked in the order a list takes
    it (before the customer's verdicts)."""
    await fetch(ERASE_PENDING, tenant_id, customer_id)


# A follow-up whose lateness is not judged yet (``UNJUDGED_FOLLOW_UP``: what the partial index
# on them holds), with the customer's last personal contact before it (the engine need not
# judge one that comes too soon after it to be late).
UNJUDGED_FOLLOW_UP = "f.direction = 'outbound' AND NOT f.automated AND f.late IS NULL"
UNJUDGED = f"""
SELECT f.touch_id, f.xmin::text AS version, f.customer_id, f.occurred_at, (
    SELECT p.occurred_at FROM contact_facts p WHERE p.tenant_id = f.tenant_id
        AND p.customer_id = f.customer_id AND NOT p.automated AND p.occurred_at < f.occurred_at
    ORDER BY p.occurred_at DESC LIMIT 1) AS personal_before
FROM contact_facts f WHERE f.tenant_id = $1 AND {UNJUDGED_FOLLOW_UP}
"""
IN_RANGE = UNJUDGED + " AND f.occurred_at >= $2 AND f.occurred_at < $3"
EARLIEST = UNJUDGED + " ORDER BY f.occurred_at LIMIT $2"


async def unjudged_follow_ups(
    fetch: Fetch, tenant_id: uuid.UUID, since: datetime, until: datetime
) -> list[Mapping[str, Any]]:
    return list(await fetch(IN_RANGE, tenant_id, since, until))


async def pending_follow_ups(
    fetch: Fetch, tenant_id: uuid.UUID, limit: int
) -> list[Mapping[str, Any]]:
    """The tenant's earliest follow-ups not judged yet."""
    return list(await fetch(EARLIEST, tenant_id, limit))


TENANTS_WITH_UNJUDGED = f"""
SELECT t.id FROM tenants t WHERE EXISTS (
    SELECT 1 FROM contact_facts f WHERE f.tenant_id = t.id AND {UNJUDGED_FOLLOW_UP})
ORDER BY t.id
"""


async def tenants_with_unjudged(fetch: Fetch) -> list[uuid.UUID]:
    return [row["id"] for row in await fetch(TENANTS_WITH_UNJUDGED)]


# One judge of a tenant's follow-ups at a time, across processes, until its transaction ends.
TAKE_JUDGING = (
    "SELECT pg_try_advisory_xact_lock(hashtextextended('touchbase.lateness:' || $1::uuid, 0))"
)


async def take_judging(fetch: Fetch, tenant_id: uuid.UUID) -> bool:
    """Whether this transaction may judge the tenant's follow-ups (no other is)."""
    rows = await fetch(TAKE_JUDGING, tenant_id)
    return bool(rows[0][0])


# Only a fact unchanged since it was read (the same row version) is written: one a refresh
# counted again meanwhile is judged again by the next round or report.
JUDGED = """
UPDATE contact_facts f SET late = u.late
FROM unnest($2::uuid[], $3::text[], $4::boolean[]) AS u(touch_id, version, late)
WHERE f.tenant_id = $1 AND f.touch_id = u.touch_id AND f.xmin::text = u.version
    AND f.late IS NULL
"""


async def store_judged(
    fetch: Fetch, tenant_id: uuid.UUID, judged: Sequence[tuple[uuid.UUID, str, bool]]
) -> None:
    """Keep follow-ups' lateness, by (touch id, its row version when read, late)."""
    if judged:
        ids, versions, lates = zip(*sorted(judged), strict=True)
        await fetch(JUDGED, tenant_id, list(ids), list(versions), list(lates))


# The outcome rollups (``OutcomeRollup``): triggers on contact_facts append every change to
# the deltas in the writer's transaction; a fold moves the oldest into the rows of their days
# and of their months, summed per key and taken in key order, so folds in several processes
# never wait on each other's deltas nor deadlock on the rollups. A key whose counts fall to 0
# keeps its row (reports skip it).
ROLLUP_KEY = "tenant_id, day, n, channel, category, automated, actor_team"
# what the touch-outcomes report counts of outbound contacts, beside the contacts themselves
OUTCOME_FLAGS = ("opened", "clicked", "replied", "meeting_booked", "converted", "completed")
ROLLUP_COUNTS = ("contacts", *OUTCOME_FLAGS)
_ROLLUP_COLUMNS = ", ".join(ROLLUP_COUNTS)
_KEY_AFTER_DAY = ROLLUP_KEY.removeprefix("tenant_id, day, ")
FOLD = f"""
WITH folded AS (
    DELETE FROM outcome_rollup_deltas d USING (
        SELECT id FROM outcome_rollup_deltas ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED) AS o
    WHERE d.id = o.id
    RETURNING d.*
), spans AS (
    SELECT tenant_id, 'day' AS span, day, {_KEY_AFTER_DAY}, {_ROLLUP_COLUMNS} FROM folded
    UNION ALL
    SELECT tenant_id, 'month', date_trunc('month', day)::date, {_KEY_AFTER_DAY}, {_ROLLUP_COLUMNS}
    FROM folded
), stored AS (
    INSERT INTO outcome_rollups AS r (tenant_id, span, day, {_KEY_AFTER_DAY}, {_ROLLUP_COLUMNS})
    SELECT tenant_id, span, day, {_KEY_AFTER_DAY}, {", ".join(f"sum({c})" for c in ROLLUP_COUNTS)}
    FROM spans GROUP BY tenant_id, span, day, {_KEY_AFTER_DAY}
    ORDER BY tenant_id, span, day, {_KEY_AFTER_DAY}
    ON CONFLICT ON CONSTRAINT uq_outcome_rollups_key DO UPDATE
    SET {", ".join(f"{count} = r.{count} + excluded.{count}" for count in ROLLUP_COUNTS)}
)
SELECT count(*) FROM folded
"""


async def fold_rollups(fetch: Fetch, limit: int) -> int:
    """Fold up to ``limit`` of the oldest outcome deltas into the rollups, in the caller's
    transaction; how many were folded."""
    rows = await fetch(FOLD, limit)
    return int(rows[0][0])


ERASE_CONTACT_FACTS = erase_customer_rows("contact_facts")


async def erase_customer(fetch: Fetch, tenant_id: uuid.UUID, customer_id: str) -> None:
    """Erasure: delete the customer's contact facts (analytics count them no more)."""
    await fetch(ERASE_CONTACT_FACTS, tenant_id, customer_id)
