"""The database's own full-text index over chunks: SQLite FTS5 or a PostgreSQL tsvector.

Both are maintained by the database itself (triggers / a generated column), so every write
path that stores chunks — the pipeline, a reprocess, a deletion — keeps the index in step,
inside the same transaction.
"""

from __future__ import annotations

# Porter stemming over unicode61; "§" is part of a token so "§ 1983" queries keep the symbol.
SQLITE_TOKENIZER = "porter unicode61 remove_diacritics 2 tokenchars '§'"

SQLITE_CREATE = (
    "CREATE VIRTUAL TABLE chunks_fts USING fts5("
    f"text, content='chunks', content_rowid='pk', tokenize=\"{SQLITE_TOKENIZER}\")",
    "CREATE TRIGGER chunks_fts_insert AFTER INSERT ON chunks BEGIN "
    "INSERT INTO chunks_fts(rowid, text) VALUES (new.pk, new.text); END",
    "CREATE TRIGGER chunks_fts_delete AFTER DELETE ON chunks BEGIN "
    "INSERT INTO chunks_fts(chunks_fts, rowid, text) VALUES ('delete', old.pk, old.text); END",
    "CREATE TRIGGER chunks_fts_update AFTER UPDATE OF text ON chunks BEGIN "
    "INSERT INTO chunks_fts(chunks_fts, rowid, text) VALUES ('delete', old.pk, old.text); "
    "INSERT INTO chunks_fts(rowid, text) VALUES (new.pk, new.text); END",
    "INSERT INTO chunks_fts(chunks_fts) VALUES ('rebuild')",
)
SQLITE_DROP = (
    "DROP TRIGGER IF EXISTS chunks_fts_update",
    "DROP TRIGGER IF EXISTS chunks_fts_delete",
    "DROP TRIGGER IF EXISTS chunks_fts_insert",
    "DROP TABLE IF EXISTS chunks_fts",
)

# Revision 0008: the chunk index gets a second column holding one token that names the
# chunk's organization, so a tenant's query intersects the posting lists with its own rows
# inside FTS5 and bm25 is computed for them only (otherwise every firm's matches are scored and
# then discarded by the scope clause). The token is an optimization, never the access check:
# every query still applies the scope clause. bm25 gives the column weight 0.
SCOPE_COLUMN = "scope"


def scope_token(organization_id: str) -> str:
    """The organization's token as a query phrase's text; the same expression as the SQL
    below (a UUID without its dashes between letters no stemmer rule touches: "org…x")."""
    return ("org" + organization_id.replace("-", "") + "x").replace('"', '""')


SCOPED_SQLITE_CREATE = (
    "CREATE VIEW chunks_fts_content AS SELECT pk, text, "
    "'org' || replace(organization_id, '-', '') || 'x' AS scope FROM chunks",
    "CREATE VIRTUAL TABLE chunks_fts USING fts5(text, scope, "
    "content='chunks_fts_content', content_rowid='pk', "
    "tokenize=\"porter unicode61 remove_diacritics 2 tokenchars '§'\")",
    "CREATE TRIGGER chunks_fts_insert AFTER INSERT ON chunks BEGIN "
    "INSERT INTO chunks_fts(rowid, text, scope) VALUES "
    "(new.pk, new.text, 'org' || replace(new.organization_id, '-', '') || 'x'); END",
    "CREATE TRIGGER chunks_fts_delete AFTER DELETE ON chunks BEGIN "
    "INSERT INTO chunks_fts(chunks_fts, rowid, text, scope) VALUES "
    "('delete', old.pk, old.text, 'org' || replace(old.organization_id, '-', '') || 'x'); END",
    "CREATE TRIGGER chunks_fts_update AFTER UPDATE OF text, organization_id ON chunks BEGIN "
    "INSERT INTO chunks_fts(chunks_fts, rowid, text, scope) VALUES "
    "('delete', old.pk, old.text, 'org' || replace(old.organization_id, '-', '') || 'x'); "
    "INSERT INTO chunks_fts(rowid, text, scope) VALUES "
    "(new.pk, new.text, 'org' || replace(new.organization_id, '-', '') || 'x'); END",
    "INSERT INTO chunks_fts(chunks_fts) VALUES ('rebuild')",
)
SCOPED_SQLITE_DROP = (*SQLITE_DROP, "DROP VIEW IF EXISTS chunks_fts_content")

POSTGRES_CREATE = (
    "ALTER TABLE chunks ADD COLUMN tsv tsvector "
    "GENERATED ALWAYS AS (to_tsvector('english'::regconfig, text)) STORED",
    "CREATE INDEX ix_chunks_tsv ON chunks USING gin (tsv)",
)
POSTGRES_DROP = (
    "DROP INDEX IF EXISTS ix_chunks_tsv",
    "ALTER TABLE chunks DROP COLUMN IF EXISTS tsv",
)

# The same index over document profiles (title, parties, opening text: what a query names a
# document by), for the document-focus stage of search. Revision 0007.
PROFILE_SQLITE_CREATE = (
    "CREATE VIRTUAL TABLE document_profiles_fts USING fts5("
    "text, content='document_profiles', content_rowid='pk', "
    f'tokenize="{SQLITE_TOKENIZER}")',
    "CREATE TRIGGER document_profiles_fts_insert AFTER INSERT ON document_profiles BEGIN "
    "INSERT INTO document_profiles_fts(rowid, text) VALUES (new.pk, new.text); END",
    "CREATE TRIGGER document_profiles_fts_delete AFTER DELETE ON document_profiles BEGIN "
    "INSERT INTO document_profiles_fts(document_profiles_fts, rowid, text) "
    "VALUES ('delete', old.pk, old.text); END",
    "CREATE TRIGGER document_profiles_fts_update AFTER UPDATE OF text ON document_profiles "
    "BEGIN INSERT INTO document_profiles_fts(document_profiles_fts, rowid, text) "
    "VALUES ('delete', old.pk, old.text); "
    "INSERT INTO document_profiles_fts(rowid, text) VALUES (new.pk, new.text); END",
)
PROFILE_SQLITE_DROP = (
    "DROP TRIGGER IF EXISTS document_profiles_fts_update",
    "DROP TRIGGER IF EXISTS document_profiles_fts_delete",
    "DROP TRIGGER IF EXISTS document_profiles_fts_insert",
    "DROP TABLE IF EXISTS document_profiles_fts",
)
PROFILE_POSTGRES_CREATE = (
    "ALTER TABLE document_profiles ADD COLUMN tsv tsvector "
    "GENERATED ALWAYS AS (to_tsvector('english'::regconfig, text)) STORED",
    "CREATE INDEX ix_document_profiles_tsv ON document_profiles USING gin (tsv)",
)
PROFILE_POSTGRES_DROP = (
    "DROP INDEX IF EXISTS ix_document_profiles_tsv",
    "ALTER TABLE document_profiles DROP COLUMN IF EXISTS tsv",
)

# Revision 0010 (SQLite): one revision number per organization, bumped in the same transaction
# as any change to its chunks that the in-memory vector index copies (search/semantic.py), so
# a query learns whether that copy is current from one primary-key lookup instead of
# aggregating the organization's chunks.
REVISION_TABLE = "chunk_revisions"


REVISION_SQL = "SELECT revision FROM chunk_revisions WHERE organization_id = :organization"


def _bump(row: str) -> str:
    return (
        "INSERT OR IGNORE INTO chunk_revisions (organization_id, revision) "
        "VALUES (ROW.organization_id, 0); "
        "UPDATE chunk_revisions SET revision = revision + 1 "
        "WHERE organization_id = ROW.organization_id;"
    ).replace("ROW", row)


REVISION_SQLITE_CREATE = (
    "CREATE TABLE chunk_revisions (organization_id VARCHAR(36) NOT NULL PRIMARY KEY, "
    "revision INTEGER NOT NULL)",
    "INSERT INTO chunk_revisions (organization_id, revision) "
    "SELECT DISTINCT organization_id, 1 FROM chunks",
    f"CREATE TRIGGER chunk_revisions_insert AFTER INSERT ON chunks BEGIN {_bump('new')} END",
    f"CREATE TRIGGER chunk_revisions_delete AFTER DELETE ON chunks BEGIN {_bump('old')} END",
    "CREATE TRIGGER chunk_revisions_update AFTER UPDATE OF "
    "organization_id, matter_id, document_id, embedding, embedding_model ON chunks "
    f"BEGIN {_bump('old')} {_bump('new')} END",
)
REVISION_SQLITE_DROP = (
    "DROP TRIGGER IF EXISTS chunk_revisions_update",
    "DROP TRIGGER IF EXISTS chunk_revisions_delete",
    "DROP TRIGGER IF EXISTS chunk_revisions_insert",
    "DROP TABLE IF EXISTS chunk_revisions",
)

# Objects Alembic's model comparison must not mistake for drift.
INDEX_TABLE_PREFIXES = ("chunks_fts", "document_profiles_fts", REVISION_TABLE)
INDEX_COLUMN = "tsv"
INDEX_NAMES = ("ix_chunks_tsv", "ix_chunks_org_tsv", "ix_document_profiles_tsv")


def create_statements(dialect: str) -> tuple[str, ...]:
    return POSTGRES_CREATE if dialect == "postgresql" else SQLITE_CREATE


def drop_statements(dialect: str) -> tuple[str, ...]:
    return POSTGRES_DROP if dialect == "postgresql" else SQLITE_DROP


def profile_create_statements(dialect: str) -> tuple[str, ...]:
    return PROFILE_POSTGRES_CREATE if dialect == "postgresql" else PROFILE_SQLITE_CREATE


def profile_drop_statements(dialect: str) -> tuple[str, ...]:
    return PROFILE_POSTGRES_DROP if dialect == "postgresql" else PROFILE_SQLITE_DROP


def is_index_object(name: str | None, type_: str) -> bool:
    if name is None:
        return False
    if type_ == "table":
        return name.startswith(INDEX_TABLE_PREFIXES)
    if type_ == "column":
        return name == INDEX_COLUMN
    if type_ == "index":
        # The HNSW indexes are made per embedding model at startup (search/semantic.py).
        return name in INDEX_NAMES or name.startswith("ix_chunks_embedding_")
    return False
