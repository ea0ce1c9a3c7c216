"""outcome rollups

The touch-outcomes report's counts per tenant, UTC day and UTC month (``span``), follow-up
number, channel, category, automated and team, so that a report over months reads a few rows
a month instead of every outbound contact. Triggers on ``contact_facts`` append each
statement's change (new rows counted, old ones taken back) to ``outcome_rollup_deltas`` in
the writer's transaction: appends never wait on one another, as upserts of the same day's
rows would. The background refresher folds the deltas into ``outcome_rollups``, each into its
day's and its month's rows; a report reads both, so it is exact at every instant. Existing
facts are rolled up here.

Revision ID: 7a3e9d1c5b20
Revises: f2b8c4d6e913
Create Date: 2026-12-08 01:00:00+00:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "7a3e9d1c5b20"
down_revision: str | None = "f2b8c4d6e913"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY = ("tenant_id", "day", "n", "channel", "category", "automated", "actor_team")
ROLLUP_KEY = ("tenant_id", "span", "day", "n", "channel", "category", "automated", "actor_team")
FLAGS = ("opened", "clicked", "replied", "meeting_booked", "converted", "completed")
COUNTS = ("contacts", *FLAGS)
OUTBOUND_KEY = (
    "tenant_id, (occurred_at AT TIME ZONE 'UTC')::date AS day, n, channel, category,"
    " automated, actor_team"
)


def _columns(*span: sa.Column[Any]) -> list[sa.Column[Any]]:
    return [
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), primary_key=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        *span,
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("n", sa.SmallInteger(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("category", sa.Text(), nullable=True),
        sa.Column("automated", sa.Boolean(), nullable=False),
        sa.Column("actor_team", sa.Text(), nullable=True),
        *(sa.Column(count, sa.Integer(), nullable=False) for count in COUNTS),
    ]


def _signed(table: str, sign: str) -> str:
    """A transition table's outbound facts as signed counts under their rollup key."""
    flags = ", ".join(f"{sign}{flag}::int AS {flag}" for flag in FLAGS)
    return (
        f"SELECT {OUTBOUND_KEY}, {sign}1 AS contacts, {flags} FROM {table}"
        " WHERE direction = 'outbound'"
    )


def _append(*signed: str) -> str:
    """Append the summed change of a statement, leaving out keys it did not change."""
    key = ", ".join(KEY)
    sums = ", ".join(f"sum({count})" for count in COUNTS)
    changed = " OR ".join(f"sum({count}) <> 0" for count in COUNTS)
    return (
        f"INSERT INTO outcome_rollup_deltas ({key}, {', '.join(COUNTS)})"
        f" SELECT {key}, {sums} FROM ({' UNION ALL '.join(signed)}) AS c"
        f" GROUP BY {key} HAVING {changed};"
    )


def _trigger_function() -> str:
    inserted, deleted = _signed("new_facts", ""), _signed("old_facts", "-")
    return f"""
CREATE FUNCTION roll_up_outcomes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {_append(inserted)}
    ELSIF TG_OP = 'DELETE' THEN
        {_append(deleted)}
    ELSE
        {_append(inserted, deleted)}
    END IF;
    RETURN NULL;
END
$$
"""


TRIGGERS = {
    "INSERT": "NEW TABLE AS new_facts",
    "UPDATE": "OLD TABLE AS old_facts NEW TABLE AS new_facts",
    "DELETE": "OLD TABLE AS old_facts",
}


def upgrade() -> None:
    op.create_table(
        "outcome_rollups",
        *_columns(sa.Column("span", sa.Text(), nullable=False)),
        sa.UniqueConstraint(
            *ROLLUP_KEY, name="uq_outcome_rollups_key", postgresql_nulls_not_distinct=True
        ),
        sa.CheckConstraint(
            "span = 'day' OR (span = 'month' AND extract(day FROM day) = 1)",
            name="ck_outcome_rollups_span",
        ),
    )
    op.create_table("outcome_rollup_deltas", *_columns())
    op.create_index(
        "ix_outcome_rollup_deltas_tenant_id_day", "outcome_rollup_deltas", ["tenant_id", "day"]
    )
    op.execute(_trigger_function())
    for event, transition in TRIGGERS.items():
        op.execute(
            f"CREATE TRIGGER contact_facts_roll_up_{event.lower()} AFTER {event} ON contact_facts"
            f" REFERENCING {transition} FOR EACH STATEMENT EXECUTE FUNCTION roll_up_outcomes()"
        )
    key, counts = ", ".join(KEY), ", ".join(f"sum({count})" for count in COUNTS)
    month_key = key.replace("day", "date_trunc('month', day)::date")
    facts = _signed("contact_facts", "")
    op.execute(
        f"INSERT INTO outcome_rollups ({', '.join(ROLLUP_KEY)}, {', '.join(COUNTS)})"
        f" SELECT tenant_id, 'day', {key.removeprefix('tenant_id, ')}, {counts}"
        f" FROM ({facts}) AS c GROUP BY {key}"
        f" UNION ALL SELECT tenant_id, 'month', {month_key.removeprefix('tenant_id, ')}, {counts}"
        f" FROM ({facts}) AS c GROUP BY {month_key}"
    )


def downgrade() -> None:
    for event in TRIGGERS:
        op.execute(f"DROP TRIGGER contact_facts_roll_up_{event.lower()} ON contact_facts")
    op.execute("DROP FUNCTION roll_up_outcomes()")
    op.drop_table("outcome_rollup_deltas")
    op.drop_table("outcome_rollups")
