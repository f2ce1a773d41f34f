"""SQLite: one keyword index per organization (over its chunks and its document profiles)
in place of the shared ones, so bm25's statistics are each firm's own and a query reads
only its firm's postings (search/keyword_index.py). PostgreSQL is unchanged.

Revision ID: 0011_organization_fts
Revises: 0010_chunk_revisions
Create Date: 2026-12-02
"""

import uuid
from collections.abc import Iterable, Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_organization_fts"
down_revision: str | None = "0010_chunk_revisions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen as of this revision (migrations never import live modules).
SQLITE_TOKENIZER = "porter unicode61 remove_diacritics 2 tokenchars '§'"
PROFILE_SQLITE_CREATE = (
    "CREATE VIRTUAL TABLE document_profiles_fts USING fts5(text, content='document_profiles', "
    "content_rowid='pk', tokenize=\"porter unicode61 remove_diacritics 2 tokenchars '§'\")",
    "CREATE TRIGGER document_profiles_fts_insert AFTER INSERT ON document_profiles BEGIN "
    "INSERT INTO document_profiles_fts(rowid, text) VALUES (new.pk, new.text); END",
    "CREATE TRIGGER document_profiles_fts_delete AFTER DELETE ON document_profiles BEGIN "
    "INSERT INTO document_profiles_fts(document_profiles_fts, rowid, text) VALUES ('delete', "
    "old.pk, old.text); END",
    "CREATE TRIGGER document_profiles_fts_update AFTER UPDATE OF text ON document_profiles "
    "BEGIN INSERT INTO document_profiles_fts(document_profiles_fts, rowid, text) VALUES "
    "('delete', old.pk, old.text); INSERT INTO document_profiles_fts(rowid, text) VALUES "
    "(new.pk, new.text); END",
)
PROFILE_SQLITE_DROP = (
    "DROP TRIGGER IF EXISTS document_profiles_fts_update",
    "DROP TRIGGER IF EXISTS document_profiles_fts_delete",
    "DROP TRIGGER IF EXISTS document_profiles_fts_insert",
    "DROP TABLE IF EXISTS document_profiles_fts",
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


def chunk_index(organization_id: str) -> str:
    return f"chunks_fts_{organization_key(organization_id)}"


def profile_index(organization_id: str) -> str:
    return f"document_profiles_fts_{organization_key(organization_id)}"


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
