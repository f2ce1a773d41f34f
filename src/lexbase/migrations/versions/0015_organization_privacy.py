"""An organization's own choice of personal-data redaction before language models.

Revision ID: 0015_organization_privacy
Revises: 0014_chat
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_organization_privacy"
down_revision: str | None = "0014_chat"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("organizations", sa.Column("pii_redaction", sa.String(length=10), nullable=True))
    op.add_column("organizations", sa.Column("redact_parties", sa.Boolean(), nullable=True))


def downgrade() -> None:
    # A plain DROP COLUMN (SQLite 3.35+): a batch rebuild would drop and recreate the table
    # every other table refers to.
    op.drop_column("organizations", "redact_parties")
    op.drop_column("organizations", "pii_redaction")
