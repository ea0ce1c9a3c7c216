"""unjudged follow-ups

Follow-ups whose lateness is not judged yet are found by partial indexes, by instant (the
background judge and reports) and by customer (retention); they hold nothing once every
follow-up is judged.

Revision ID: e4a9c2d7b151
Revises: d3f8b6a25e47
Create Date: 2026-12-07 17:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e4a9c2d7b151"
down_revision: str | None = "d3f8b6a25e47"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


UNJUDGED = sa.text("direction = 'outbound' AND NOT automated AND late IS NULL")


def upgrade() -> None:
    op.create_index(
        "ix_contact_facts_unjudged", "contact_facts", ["tenant_id", "occurred_at"],
        postgresql_where=UNJUDGED,
    )  # fmt: skip
    op.create_index(
        "ix_contact_facts_unjudged_by_customer", "contact_facts", ["tenant_id", "customer_id"],
        postgresql_where=UNJUDGED,
    )  # fmt: skip


def downgrade() -> None:
    op.drop_index("ix_contact_facts_unjudged_by_customer", table_name="contact_facts")
    op.drop_index("ix_contact_facts_unjudged", table_name="contact_facts")
