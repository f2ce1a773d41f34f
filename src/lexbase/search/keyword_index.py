"""The database's own full-text index over chunks: SQLite FTS5 or a PostgreSQL tsvector.

Both are maintained by the database itself (triggers / a generated column), so every write
path that stores chunks — the pipeline, a reprocess, a deletion — keeps the index in step,
inside the same transaction.
"""

from __future__ import annotations

import uuid

# Porter stemming over unicode61; "§" is part of a token so "§ 1983" queries keep the symbol.
SQLITE_TOKENIZER = "porter unicode61 remove_diacritics 2 tokenchars '§'"

# Revision 0010 (SQLite): one revision number per organization, bumped in the same transaction
# as any change to its chunks that the in-memory vector index copies
# (search/memory_vectors.py), so a query learns whether that copy is current from one
# primary-key lookup instead of aggregating the organization's chunks.
REVISION_TABLE = "chunk_revisions"


REVISION_SQL = "SELECT revision FROM chunk_revisions WHERE organization_id = :organization"


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


# Objects Alembic's model comparison must not mistake for drift.
INDEX_TABLE_PREFIXES = ("chunks_fts", "document_profiles_fts", REVISION_TABLE)
INDEX_COLUMN = "tsv"
INDEX_NAMES = ("ix_chunks_tsv", "ix_chunks_org_tsv", "ix_document_profiles_tsv")


def is_index_object(name: str | None, type_: str) -> bool:
    if name is None:
        return False
    if type_ == "table":
        return name.startswith(INDEX_TABLE_PREFIXES)
    if type_ == "column":
        return name == INDEX_COLUMN
    if type_ == "index":
        # The HNSW indexes are made per embedding model at startup (search/index_postgres.py).
        return name in INDEX_NAMES or name.startswith("ix_chunks_embedding_")
    return False
