"""The SQLite chunk index gains an organization token column, so a tenant's keyword query is
answered from its own rows inside FTS5 (PostgreSQL is unchanged).

Revision ID: 0008_scoped_keyword_index
Revises: 0007_document_profiles
Create Date: 2026-11-22
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008_scoped_keyword_index"
down_revision: str | None = "0007_document_profiles"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen as of this revision (migrations never import live modules).
SQLITE_CREATE = (
    "CREATE VIRTUAL TABLE chunks_fts USING fts5(text, content='chunks', content_rowid='pk', "
    "tokenize=\"porter unicode61 remove_diacritics 2 tokenchars '§'\")",
    "CREATE TRIGGER chunks_fts_insert AFTER INSERT ON chunks BEGIN INSERT INTO "
    "chunks_fts(rowid, text) VALUES (new.pk, new.text); END",
    "CREATE TRIGGER chunks_fts_delete AFTER DELETE ON chunks BEGIN INSERT INTO "
    "chunks_fts(chunks_fts, rowid, text) VALUES ('delete', old.pk, old.text); END",
    "CREATE TRIGGER chunks_fts_update AFTER UPDATE OF text ON chunks BEGIN INSERT INTO "
    "chunks_fts(chunks_fts, rowid, text) VALUES ('delete', old.pk, old.text); INSERT INTO "
    "chunks_fts(rowid, text) VALUES (new.pk, new.text); END",
    "INSERT INTO chunks_fts(chunks_fts) VALUES ('rebuild')",
)
SQLITE_DROP = (
    "DROP TRIGGER IF EXISTS chunks_fts_update",
    "DROP TRIGGER IF EXISTS chunks_fts_delete",
    "DROP TRIGGER IF EXISTS chunks_fts_insert",
    "DROP TABLE IF EXISTS chunks_fts",
)
SCOPED_SQLITE_CREATE = (
    "CREATE VIEW chunks_fts_content AS SELECT pk, text, 'org' || replace(organization_id, '-', "
    "'') || 'x' AS scope FROM chunks",
    "CREATE VIRTUAL TABLE chunks_fts USING fts5(text, scope, content='chunks_fts_content', "
    "content_rowid='pk', tokenize=\"porter unicode61 remove_diacritics 2 tokenchars '§'\")",
    "CREATE TRIGGER chunks_fts_insert AFTER INSERT ON chunks BEGIN INSERT INTO "
    "chunks_fts(rowid, text, scope) VALUES (new.pk, new.text, 'org' || "
    "replace(new.organization_id, '-', '') || 'x'); END",
    "CREATE TRIGGER chunks_fts_delete AFTER DELETE ON chunks BEGIN INSERT INTO "
    "chunks_fts(chunks_fts, rowid, text, scope) VALUES ('delete', old.pk, old.text, 'org' || "
    "replace(old.organization_id, '-', '') || 'x'); END",
    "CREATE TRIGGER chunks_fts_update AFTER UPDATE OF text, organization_id ON chunks BEGIN "
    "INSERT INTO chunks_fts(chunks_fts, rowid, text, scope) VALUES ('delete', old.pk, "
    "old.text, 'org' || replace(old.organization_id, '-', '') || 'x'); INSERT INTO "
    "chunks_fts(rowid, text, scope) VALUES (new.pk, new.text, 'org' || "
    "replace(new.organization_id, '-', '') || 'x'); END",
    "INSERT INTO chunks_fts(chunks_fts) VALUES ('rebuild')",
)
SCOPED_SQLITE_DROP = (
    "DROP TRIGGER IF EXISTS chunks_fts_update",
    "DROP TRIGGER IF EXISTS chunks_fts_delete",
    "DROP TRIGGER IF EXISTS chunks_fts_insert",
    "DROP TABLE IF EXISTS chunks_fts",
    "DROP VIEW IF EXISTS chunks_fts_content",
)


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
