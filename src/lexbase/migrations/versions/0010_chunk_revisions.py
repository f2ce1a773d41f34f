"""SQLite: a per-organization revision number of its chunks, bumped by triggers whenever a
chunk is inserted, deleted, moved or re-embedded, so the in-memory vector index can tell
with one primary-key lookup whether its copy is current (PostgreSQL searches vectors in the
database and needs none).

Revision ID: 0010_chunk_revisions
Revises: 0009_tenant_keyword_index
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

from lexbase.search.keyword_index import REVISION_SQLITE_CREATE, REVISION_SQLITE_DROP

revision: str = "0010_chunk_revisions"
down_revision: str | None = "0009_tenant_keyword_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for statement in REVISION_SQLITE_CREATE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for statement in REVISION_SQLITE_DROP:
        op.execute(statement)
