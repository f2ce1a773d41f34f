"""Full-text index over chunks: SQLite FTS5 (with triggers) or a PostgreSQL tsvector + GIN.

Revision ID: 0005_keyword_index
Revises: 0004_documents
Create Date: 2026-11-22
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005_keyword_index"
down_revision: str | None = "0004_documents"
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
POSTGRES_CREATE = (
    "ALTER TABLE chunks ADD COLUMN tsv tsvector GENERATED ALWAYS AS "
    "(to_tsvector('english'::regconfig, text)) STORED",
    "CREATE INDEX ix_chunks_tsv ON chunks USING gin (tsv)",
)
POSTGRES_DROP = (
    "DROP INDEX IF EXISTS ix_chunks_tsv",
    "ALTER TABLE chunks DROP COLUMN IF EXISTS tsv",
)


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in POSTGRES_CREATE if postgres else SQLITE_CREATE:
        op.execute(statement)


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in POSTGRES_DROP if postgres else SQLITE_DROP:
        op.execute(statement)
