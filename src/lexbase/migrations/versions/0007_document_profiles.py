"""Document profiles (title, parties, opening text) with their own full-text index, and the
indexes that keep search's change detection cheap.

Revision ID: 0007_document_profiles
Revises: 0006_chunk_embeddings
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_document_profiles"
down_revision: str | None = "0006_chunk_embeddings"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen as of this revision (migrations never import live modules).
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
PROFILE_POSTGRES_CREATE = (
    "ALTER TABLE document_profiles ADD COLUMN tsv tsvector GENERATED ALWAYS AS "
    "(to_tsvector('english'::regconfig, text)) STORED",
    "CREATE INDEX ix_document_profiles_tsv ON document_profiles USING gin (tsv)",
)
PROFILE_POSTGRES_DROP = (
    "DROP INDEX IF EXISTS ix_document_profiles_tsv",
    "ALTER TABLE document_profiles DROP COLUMN IF EXISTS tsv",
)


def upgrade() -> None:
    op.create_table(
        "document_profiles",
        sa.Column(
            "pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("document_id", sa.String(length=36), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("matter_id", sa.String(length=36), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_document_profiles_document_id_documents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_document_profiles")),
        sa.UniqueConstraint("document_id", name=op.f("uq_document_profiles_document_id")),
    )
    op.create_index(
        op.f("ix_document_profiles_organization_id"), "document_profiles", ["organization_id"]
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in PROFILE_POSTGRES_CREATE if postgres else PROFILE_SQLITE_CREATE:
        op.execute(statement)
    # Documents indexed before this revision get a profile from their title and opening text
    # (parties are added when they are next processed).
    op.execute(
        "INSERT INTO document_profiles (document_id, organization_id, matter_id, text) "
        "SELECT d.id, d.organization_id, d.matter_id, "
        "d.title || CHR_NEWLINE || substr(t.text, 1, 1500) "
        "FROM documents d JOIN document_texts t ON t.document_id = d.id".replace(
            "CHR_NEWLINE", "chr(10)" if op.get_bind().dialect.name == "postgresql" else "char(10)"
        )
    )
    op.create_index(
        "ix_chunks_org_embedding_model", "chunks", ["organization_id", "embedding_model"]
    )
    op.create_index("ix_documents_org_updated_at", "documents", ["organization_id", "updated_at"])


def downgrade() -> None:
    op.drop_index("ix_documents_org_updated_at", table_name="documents")
    op.drop_index("ix_chunks_org_embedding_model", table_name="chunks")
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in PROFILE_POSTGRES_DROP if postgres else PROFILE_SQLITE_DROP:
        op.execute(statement)
    op.drop_index(op.f("ix_document_profiles_organization_id"), table_name="document_profiles")
    op.drop_table("document_profiles")
