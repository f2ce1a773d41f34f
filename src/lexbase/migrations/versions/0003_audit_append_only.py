"""Make audit_events append-only with triggers on both SQLite and PostgreSQL.

Revision ID: 0003_audit_append_only
Revises: 0002_identity
Create Date: 2026-11-21
"""

from collections.abc import Sequence

from alembic import op

from lexbase.audit.guard import create_statements, drop_statements

revision: str = "0003_audit_append_only"
down_revision: str | None = "0002_identity"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in create_statements(dialect):
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in drop_statements(dialect):
        op.execute(statement)
