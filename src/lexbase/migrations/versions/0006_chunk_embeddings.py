"""Chunk embeddings (the vector and its model, on the chunk row itself), and the document
fields search filters and facets on (court, jurisdiction, document date).

Keeping the vector on the chunk means re-indexing a document replaces text, keyword index
and vectors in the one transaction that replaces its chunks.

Revision ID: 0006_chunk_embeddings
Revises: 0005_keyword_index
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from pgvector.sqlalchemy import VECTOR

revision: str = "0006_chunk_embeddings"
down_revision: str | None = "0005_keyword_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    vector_type = VECTOR() if postgres else sa.LargeBinary()
    op.add_column("chunks", sa.Column("embedding", vector_type, nullable=True))
    op.add_column("chunks", sa.Column("embedding_model", sa.String(100), nullable=True))
    op.add_column("documents", sa.Column("court", sa.String(50), nullable=True))
    op.add_column("documents", sa.Column("jurisdiction", sa.String(50), nullable=True))
    op.add_column("documents", sa.Column("document_date", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.drop_column("document_date")
        batch.drop_column("jurisdiction")
        batch.drop_column("court")
    with op.batch_alter_table("chunks") as batch:
        batch.drop_column("embedding_model")
        batch.drop_column("embedding")
