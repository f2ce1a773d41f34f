"""Walls and accounts: uploads that reveal nothing, per-caller idempotency keys, pinned blobs,
e-mail addresses unique per organization, operators.

- documents: (organization_id, sha256) is no longer unique — a file identical to one behind a
  wall the uploader cannot see becomes a document of its own; plain indexes instead, and one
  on blob_key for the blob sweeper.
- idempotency_keys: keyed by (organization, user, key); stored replays are dropped (they
  were a short-lived cache).
- blob_pins: blobs being stored by uploads not yet committed (documents/blobs.py).
- users: e-mail unique per organization, so neither sign-up nor an admin of another firm can
  learn that an address has an account elsewhere; `is_operator` marks the users allowed to
  see server-level health (set from the command line only).

SQLite rebuilds `documents` and `users` to drop their unique constraints. Foreign keys are
switched off around the rebuild: dropping the old table would otherwise cascade-delete every
row that refers to it.

Revision ID: 0012_wall_isolation
Revises: 0011_organization_fts
Create Date: 2026-12-02
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

revision: str = "0012_wall_isolation"
down_revision: str | None = "0011_organization_fts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


@contextmanager
def _foreign_keys_off() -> Iterator[None]:
    if not _sqlite():
        yield
        return
    op.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        op.execute("PRAGMA foreign_keys=ON")


def upgrade() -> None:
    with _foreign_keys_off():
        with op.batch_alter_table("documents") as batch:
            batch.drop_constraint("uq_documents_org_sha256", type_="unique")
            batch.create_index("ix_documents_org_sha256", ["organization_id", "sha256"])
            batch.create_index("ix_documents_blob_key", ["blob_key"])
        with op.batch_alter_table("users") as batch:
            batch.drop_constraint("uq_users_email", type_="unique")
            batch.add_column(
                sa.Column("is_operator", sa.Boolean(), nullable=False, server_default=sa.false())
            )
            batch.create_unique_constraint("uq_users_org_email", ["organization_id", "email"])
            batch.create_index("ix_users_email", ["email"])

    op.drop_table("idempotency_keys")
    op.create_table(
        "idempotency_keys",
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("scope", sa.String(length=50), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("response", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "organization_id", "user_id", "key", name=op.f("pk_idempotency_keys")
        ),
    )
    op.create_table(
        "blob_pins",
        sa.Column("blob_key", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blob_pins")),
    )
    op.create_index(op.f("ix_blob_pins_blob_key"), "blob_pins", ["blob_key"])


def downgrade() -> None:
    op.drop_index(op.f("ix_blob_pins_blob_key"), table_name="blob_pins")
    op.drop_table("blob_pins")
    op.drop_table("idempotency_keys")
    op.create_table(
        "idempotency_keys",
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("scope", sa.String(length=50), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("response", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("organization_id", "key", name=op.f("pk_idempotency_keys")),
    )
    # Fails, as it should, where an address has accounts in several organizations or a file
    # is stored twice in one: those rows must be resolved by hand before going back.
    with _foreign_keys_off():
        with op.batch_alter_table("users") as batch:
            batch.drop_index("ix_users_email")
            batch.drop_constraint("uq_users_org_email", type_="unique")
            batch.drop_column("is_operator")
            batch.create_unique_constraint("uq_users_email", ["email"])
        with op.batch_alter_table("documents") as batch:
            batch.drop_index("ix_documents_blob_key")
            batch.drop_index("ix_documents_org_sha256")
            batch.create_unique_constraint("uq_documents_org_sha256", ["organization_id", "sha256"])
