"""The SQLite chunk index gains an organization token column, so a tenant's keyword query is
answered from its own rows inside FTS5 (PostgreSQL is unchanged).

Revision ID: 0008_scoped_keyword_index
Revises: 0007_document_profiles
Create Date: 2026-11-22
"""

from collections.abc import Sequence

from alembic import op

from lexbase.search.keyword_index import (
    SCOPED_SQLITE_CREATE,
    SCOPED_SQLITE_DROP,
    SQLITE_CREATE,
    SQLITE_DROP,
)

revision: str = "0008_scoped_keyword_index"
down_revision: str | None = "0007_document_profiles"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for statement in (*SQLITE_DROP, *SCOPED_SQLITE_CREATE):
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for statement in (*SCOPED_SQLITE_DROP, *SQLITE_CREATE):
        op.execute(statement)
