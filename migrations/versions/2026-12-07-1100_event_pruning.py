"""event pruning

Events whose deliveries have all ended are deleted a while after they were recorded: an
index on the instant they were recorded finds them.

Revision ID: d3f8b6a25e47
Revises: c1e5a7b93d24
Create Date: 2026-12-07 11:00:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "d3f8b6a25e47"
down_revision: str | None = "c1e5a7b93d24"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_events_created", "events", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_events_created", table_name="events")
