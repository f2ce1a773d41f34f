"""The database's own full-text index over chunks: SQLite FTS5 or a PostgreSQL tsvector.

Both are maintained by the database itself (triggers / a generated column), so every write
path that stores chunks — the pipeline, a reprocess, a deletion — keeps the index in step,
inside the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

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

# Revision 0011 (SQLite): one FTS5 index per organization, over its chunks and over its
# document profiles, in place of the shared ones. bm25's idf then counts the firm's own rows
# (with one index for every firm, a score depended on other firms' word frequencies, and the
# idf pass over each word's posting list read every firm's postings), and no scope token is
# needed. Each index reads its firm's rows through a view and is kept by triggers that fire
# for that firm's rows only; it is created with the firm's first indexed document
# (`ensure_organization_index`), so an organization without documents has none.


def organization_key(organization_id: str) -> str:
    """The organization's id as it appears in index object names (its 32 hex digits).
    Refuses anything but a canonical UUID, so names and the SQL below stay literal."""
    try:
        parsed = uuid.UUID(organization_id)
    except ValueError:
        parsed = None
    if parsed is None or str(parsed) != organization_id:
        raise ValueError(f"not a canonical organization id: {organization_id!r}")
    return parsed.hex


def chunk_index(organization_id: str) -> str:
    return f"chunks_fts_{organization_key(organization_id)}"


def profile_index(organization_id: str) -> str:
    return f"document_profiles_fts_{organization_key(organization_id)}"


def _organization_index(
    source: str, index: str, view: str, organization_id: str
) -> tuple[str, ...]:
    """View, index and triggers for one organization's rows of `source` (pk, text,
    organization_id): every row change of that organization is mirrored, in one
    transaction with it. The S608 exemptions below: the only values interpolated are names
    built here and a canonical UUID (organization_key)."""
    org = f"'{organization_id}'"
    delete_old = f"INSERT INTO {index}({index}, rowid, text) VALUES ('delete', old.pk, old.text)"  # noqa: S608
    insert_new = f"INSERT INTO {index}(rowid, text) VALUES (new.pk, new.text)"  # noqa: S608
    view_sql = f"SELECT pk, text FROM {source} WHERE organization_id = {org}"  # noqa: S608
    return (
        f"CREATE VIEW IF NOT EXISTS {view} AS {view_sql}",
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {index} USING fts5(text, content='{view}', "
        f"content_rowid='pk', tokenize=\"{SQLITE_TOKENIZER}\")",
        f"CREATE TRIGGER IF NOT EXISTS {index}_insert AFTER INSERT ON {source} "
        f"WHEN new.organization_id = {org} BEGIN {insert_new}; END",
        f"CREATE TRIGGER IF NOT EXISTS {index}_delete AFTER DELETE ON {source} "
        f"WHEN old.organization_id = {org} BEGIN {delete_old}; END",
        # One trigger for both sides of an update, so the old row leaves before the new one
        # enters (a row could change organization only by a direct edit of the table).
        f"CREATE TRIGGER IF NOT EXISTS {index}_update AFTER UPDATE OF text, organization_id "
        f"ON {source} WHEN old.organization_id = {org} OR new.organization_id = {org} BEGIN "
        f"INSERT INTO {index}({index}, rowid, text) SELECT 'delete', old.pk, old.text "
        f"WHERE old.organization_id = {org}; "
        f"INSERT INTO {index}(rowid, text) SELECT new.pk, new.text "
        f"WHERE new.organization_id = {org}; END",
        f"INSERT INTO {index}({index}) VALUES ('rebuild')",  # noqa: S608
    )


def organization_index_statements(organization_id: str) -> tuple[str, ...]:
    """Everything one organization's keyword search needs (idempotent)."""
    key = organization_key(organization_id)
    return (
        *_organization_index(
            "chunks", chunk_index(organization_id), f"chunk_text_{key}", organization_id
        ),
        *_organization_index(
            "document_profiles",
            profile_index(organization_id),
            f"profile_text_{key}",
            organization_id,
        ),
    )


def organization_index_drop_statements(key: str) -> tuple[str, ...]:
    """Drop one organization's indexes, by its `organization_key`."""
    if len(key) != 32 or not all(c in "0123456789abcdef" for c in key):
        raise ValueError(f"not an organization key: {key!r}")
    statements: list[str] = []
    for index, view in (
        (f"chunks_fts_{key}", f"chunk_text_{key}"),
        (f"document_profiles_fts_{key}", f"profile_text_{key}"),
    ):
        statements += [
            f"DROP TRIGGER IF EXISTS {index}_{event}" for event in ("insert", "delete", "update")
        ]
        statements += [f"DROP TABLE IF EXISTS {index}", f"DROP VIEW IF EXISTS {view}"]
    return tuple(statements)


def organization_keys(table_names: Iterable[str]) -> list[str]:
    """The organizations (by key) whose chunk index is among these table names."""
    prefix = "chunks_fts_"
    return [
        name.removeprefix(prefix)
        for name in table_names
        if name.startswith(prefix) and len(name) == len(prefix) + 32
    ]


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
