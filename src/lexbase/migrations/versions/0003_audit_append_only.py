"""Make audit_events append-only with triggers on both SQLite and PostgreSQL.

Revision ID: 0003_audit_append_only
Revises: 0002_identity
Create Date: 2026-11-21
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003_audit_append_only"
down_revision: str | None = "0002_identity"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen as of this revision (migrations never import live modules).
SQLITE_CREATE = (
    "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events BEGIN SELECT "
    "RAISE(ABORT, 'audit_events is append-only'); END",
    "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events BEGIN SELECT "
    "RAISE(ABORT, 'audit_events is append-only'); END",
)
SQLITE_DROP = (
    "DROP TRIGGER IF EXISTS audit_events_no_update",
    "DROP TRIGGER IF EXISTS audit_events_no_delete",
)
POSTGRES_CREATE = (
    "CREATE OR REPLACE FUNCTION lexbase_audit_append_only() RETURNS trigger LANGUAGE plpgsql "
    "AS $$ BEGIN RAISE EXCEPTION 'audit_events is append-only'; END $$",
    "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events FOR EACH "
    "ROW EXECUTE FUNCTION lexbase_audit_append_only()",
)
POSTGRES_DROP = (
    "DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events",
    "DROP FUNCTION IF EXISTS lexbase_audit_append_only()",
)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in POSTGRES_CREATE if dialect == "postgresql" else SQLITE_CREATE:
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in POSTGRES_DROP if dialect == "postgresql" else SQLITE_DROP:
        op.execute(statement)
