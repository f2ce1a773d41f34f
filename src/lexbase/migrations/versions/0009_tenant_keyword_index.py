"""PostgreSQL: the chunk text index keyed by organization first (GIN over
(organization_id, tsv) via btree_gin), so a tenant's keyword query reads only its own postings
rather than every firm's and then filtering. SQLite got the same effect in 0008.

Revision ID: 0009_tenant_keyword_index
Revises: 0008_scoped_keyword_index
Create Date: 2026-11-22
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009_tenant_keyword_index"
down_revision: str | None = "0008_scoped_keyword_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
    op.execute("CREATE INDEX ix_chunks_org_tsv ON chunks USING gin (organization_id, tsv)")
    op.execute("DROP INDEX IF EXISTS ix_chunks_tsv")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE INDEX ix_chunks_tsv ON chunks USING gin (tsv)")
    op.execute("DROP INDEX IF EXISTS ix_chunks_org_tsv")
