"""Foundation: the pgvector extension on PostgreSQL (later revisions add the domain tables).

Revision ID: 0001_foundation
Revises:
Create Date: 2026-11-21
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0001_foundation"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS vector")


def downgrade() -> None:
    # The extension may be shared with other schemas in the database; leave it installed.
    pass
