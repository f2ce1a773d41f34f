"""Stored document analyses (contract clauses, case fields).

Revision ID: 0016_document_analyses
Revises: 0015_organization_privacy
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_document_analyses"
down_revision: str | None = "0015_organization_privacy"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "document_analyses",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("document_id", sa.String(length=36), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("matter_id", sa.String(length=36), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("cache_key", sa.String(length=64), nullable=False),
        sa.Column("document_version", sa.String(length=40), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_document_analyses_document_id", "document_analyses", ["document_id"], unique=False
    )
    op.create_index(
        "ix_document_analyses_lookup", "document_analyses", ["document_id", "cache_key"]
    )
    op.create_index(
        "ix_document_analyses_latest", "document_analyses", ["document_id", "created_at"]
    )


def downgrade() -> None:
    op.drop_table("document_analyses")
