"""SQLite: one keyword index per organization (over its chunks and its document profiles)
in place of the shared ones, so bm25's statistics are each firm's own and a query reads
only its firm's postings (search/keyword_index.py). PostgreSQL is unchanged.

Revision ID: 0011_organization_fts
Revises: 0010_chunk_revisions
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from lexbase.search.keyword_index import (
    PROFILE_SQLITE_CREATE,
    PROFILE_SQLITE_DROP,
    SCOPED_SQLITE_CREATE,
    SCOPED_SQLITE_DROP,
    organization_index_drop_statements,
    organization_index_statements,
    organization_keys,
)

revision: str = "0011_organization_fts"
down_revision: str | None = "0010_chunk_revisions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXED_ORGANIZATIONS = (
    "SELECT organization_id FROM chunks UNION SELECT organization_id FROM document_profiles"
)


def _organizations() -> list[str]:
    return [row[0] for row in op.get_bind().execute(sa.text(INDEXED_ORGANIZATIONS))]


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for organization_id in _organizations():
        for statement in organization_index_statements(organization_id):
            op.execute(statement)
    for statement in (*SCOPED_SQLITE_DROP, *PROFILE_SQLITE_DROP):
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    rebuild_profiles = "INSERT INTO document_profiles_fts(document_profiles_fts) VALUES ('rebuild')"
    for statement in (*SCOPED_SQLITE_CREATE, *PROFILE_SQLITE_CREATE, rebuild_profiles):
        op.execute(statement)
    tables = op.get_bind().execute(sa.text("SELECT name FROM sqlite_master WHERE type = 'table'"))
    for key in organization_keys(name for (name,) in tables):
        for statement in organization_index_drop_statements(key):
            op.execute(statement)
