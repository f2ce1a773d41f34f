"""Full-text index over chunks: SQLite FTS5 (with triggers) or a PostgreSQL tsvector + GIN.

Revision ID: 0005_keyword_index
Revises: 0004_documents
Create Date: 2026-11-22
"""

from collections.abc import Sequence

from alembic import op

from lexbase.search.keyword_index import create_statements, drop_statements

revision: str = "0005_keyword_index"
down_revision: str | None = "0004_documents"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for statement in create_statements(op.get_bind().dialect.name):
        op.execute(statement)


def downgrade() -> None:
    for statement in drop_statements(op.get_bind().dialect.name):
        op.execute(statement)
