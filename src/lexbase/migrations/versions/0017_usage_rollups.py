"""Usage analytics: more kinds of usage events (quantity, document), and per-day rollups.

Revision ID: 0017_usage_rollups
Revises: 0016_document_analyses
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_usage_rollups"
down_revision: str | None = "0016_document_analyses"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("usage_events") as batch:
        batch.add_column(sa.Column("quantity", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("document_id", sa.String(length=36), nullable=True))
        batch.add_column(
            sa.Column("rolled_up", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.create_index(
            "ix_usage_events_pending", ["organization_id", "rolled_up", "created_at"]
        )
    op.create_table(
        "usage_daily",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("provider", sa.String(length=30), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("prompt_tokens", sa.Integer(), nullable=False),
        sa.Column("completion_tokens", sa.Integer(), nullable=False),
        sa.Column("estimated_cost", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "organization_id", "day", "user_id", "kind", "provider", "model", name="uq_usage_daily"
        ),
    )
    op.create_index("ix_usage_daily_org_day", "usage_daily", ["organization_id", "day"])


def downgrade() -> None:
    op.drop_table("usage_daily")
    with op.batch_alter_table("usage_events") as batch:
        batch.drop_index("ix_usage_events_pending")
        batch.drop_column("rolled_up")
        batch.drop_column("document_id")
        batch.drop_column("quantity")
