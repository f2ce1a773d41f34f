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

revision: str = "0010_chunk_revisions"
down_revision: str | None = "0009_tenant_keyword_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen as of this revision (migrations never import live modules).
REVISION_SQLITE_CREATE = (
    "CREATE TABLE chunk_revisions (organization_id VARCHAR(36) NOT NULL PRIMARY KEY, revision "
    "INTEGER NOT NULL)",
    "INSERT INTO chunk_revisions (organization_id, revision) SELECT DISTINCT organization_id, "
    "1 FROM chunks",
    "CREATE TRIGGER chunk_revisions_insert AFTER INSERT ON chunks BEGIN INSERT OR IGNORE INTO "
    "chunk_revisions (organization_id, revision) VALUES (new.organization_id, 0); UPDATE "
    "chunk_revisions SET revision = revision + 1 WHERE organization_id = new.organization_id; "
    "END",
    "CREATE TRIGGER chunk_revisions_delete AFTER DELETE ON chunks BEGIN INSERT OR IGNORE INTO "
    "chunk_revisions (organization_id, revision) VALUES (old.organization_id, 0); UPDATE "
    "chunk_revisions SET revision = revision + 1 WHERE organization_id = old.organization_id; "
    "END",
    "CREATE TRIGGER chunk_revisions_update AFTER UPDATE OF organization_id, matter_id, "
    "document_id, embedding, embedding_model ON chunks BEGIN INSERT OR IGNORE INTO "
    "chunk_revisions (organization_id, revision) VALUES (old.organization_id, 0); UPDATE "
    "chunk_revisions SET revision = revision + 1 WHERE organization_id = old.organization_id; "
    "INSERT OR IGNORE INTO chunk_revisions (organization_id, revision) VALUES "
    "(new.organization_id, 0); UPDATE chunk_revisions SET revision = revision + 1 WHERE "
    "organization_id = new.organization_id; END",
)
REVISION_SQLITE_DROP = (
    "DROP TRIGGER IF EXISTS chunk_revisions_update",
    "DROP TRIGGER IF EXISTS chunk_revisions_delete",
    "DROP TRIGGER IF EXISTS chunk_revisions_insert",
    "DROP TABLE IF EXISTS chunk_revisions",
)


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
