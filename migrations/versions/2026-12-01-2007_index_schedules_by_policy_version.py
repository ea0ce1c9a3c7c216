"""index schedules by policy version

Revision ID: f0a5d56b3f8b
Revises: 45c35e096a87
Create Date: 2026-12-01 20:07:45.601142+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "f0a5d56b3f8b"
down_revision: str | None = "45c35e096a87"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.create_index(
        "ix_customer_schedules_policy_version",
        "customer_schedules",
        ["tenant_id", "policy_version"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_customer_schedules_policy_version", table_name="customer_schedules")
