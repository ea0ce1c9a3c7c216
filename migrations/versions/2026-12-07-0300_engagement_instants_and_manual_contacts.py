"""engagement instants and manual contacts

A contact's engagement gets its instant (a status at a past instant must not see a later
open), and the last personal (non-automated) outbound contact gets an index of its own:
rules that do not count automated contacts run their clock from it.

Revision ID: 5d1c7e0a9b21
Revises: 5d2e8c41a7b3
Create Date: 2026-12-07 03:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5d1c7e0a9b21"
down_revision: str | None = "5d2e8c41a7b3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CONTACT_COUNTS_OLD = ["channel", "direction", "automated", "depth", "engaged"]
CONTACT_COUNTS_NEW = ["channel", "direction", "automated", "depth", "engaged_at"]
MANUAL_OUTBOUND = "kind = 'contact' AND direction = 'outbound' AND NOT automated"
LATE_ENGAGEMENT = (
    "kind = 'contact' AND direction = 'outbound' AND channel = 'email' AND engaged_at IS NOT NULL"
)


def upgrade() -> None:
    op.add_column("touches", sa.Column("engaged_at", sa.DateTime(timezone=True)))
    op.execute(
        "UPDATE touches c SET engaged_at = e.at FROM (SELECT tenant_id, source, ref_external_id,"
        " min(occurred_at) AS at FROM touches WHERE kind = 'engagement'"
        " AND outcome IN ('opened', 'clicked') AND ref_external_id IS NOT NULL"
        " GROUP BY tenant_id, source, ref_external_id) e"
        " WHERE c.tenant_id = e.tenant_id AND c.source = e.source"
        " AND c.external_id = e.ref_external_id AND c.kind = 'contact'"
    )
    op.drop_index("ix_touches_contact_counts", table_name="touches")
    op.drop_column("touches", "engaged")
    op.create_index(
        "ix_touches_contact_counts",
        "touches",
        ["tenant_id", "customer_id", "occurred_at"],
        postgresql_include=CONTACT_COUNTS_NEW,
        postgresql_where=sa.text("kind = 'contact'"),
    )
    op.create_index(
        "ix_touches_last_manual_outbound",
        "touches",
        ["tenant_id", "customer_id", sa.text("occurred_at DESC")],
        postgresql_where=sa.text(MANUAL_OUTBOUND),
    )
    op.create_index(
        "ix_touches_late_engagement",
        "touches",
        ["tenant_id", "customer_id", "engaged_at"],
        postgresql_include=["occurred_at"],
        postgresql_where=sa.text(LATE_ENGAGEMENT),
    )


def downgrade() -> None:
    op.drop_index("ix_touches_late_engagement", table_name="touches")
    op.drop_index("ix_touches_last_manual_outbound", table_name="touches")
    op.drop_index("ix_touches_contact_counts", table_name="touches")
    op.add_column(
        "touches", sa.Column("engaged", sa.Boolean(), server_default="false", nullable=False)
    )
    op.execute("UPDATE touches SET engaged = true WHERE engaged_at IS NOT NULL")
    op.drop_column("touches", "engaged_at")
    op.create_index(
        "ix_touches_contact_counts",
        "touches",
        ["tenant_id", "customer_id", "occurred_at"],
        postgresql_include=CONTACT_COUNTS_OLD,
        postgresql_where=sa.text("kind = 'contact'"),
    )
