"""Jobs refer to their subject generically (kind and id) instead of carrying a documents
foreign key, and gain a payload and an idempotency key (jobs/service.py `enqueue`).

Existing jobs keep their document as subject ("document", document_id). A job whose
document was deleted had its document_id set to NULL before; it keeps no subject.

Revision ID: 0013_job_subjects
Revises: 0012_wall_isolation
Create Date: 2026-12-02
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

revision: str = "0013_job_subjects"
down_revision: str | None = "0012_wall_isolation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


@contextmanager
def _foreign_keys_off() -> Iterator[None]:
    """SQLite rebuilds the table; with foreign keys on, dropping the old one could cascade."""
    if op.get_bind().dialect.name != "sqlite":
        yield
        return
    op.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        op.execute("PRAGMA foreign_keys=ON")


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("subject_type", sa.String(length=30), nullable=True))
        batch.add_column(sa.Column("subject_id", sa.String(length=36), nullable=True))
        batch.add_column(
            sa.Column("payload", sa.JSON(), nullable=False, server_default=sa.text("'{}'"))
        )
        batch.add_column(sa.Column("idempotency_key", sa.String(length=200), nullable=True))
    op.execute(
        "UPDATE jobs SET subject_type = 'document', subject_id = document_id "
        "WHERE document_id IS NOT NULL"
    )
    with _foreign_keys_off(), op.batch_alter_table("jobs") as batch:
        batch.drop_index("ix_jobs_document_id")
        batch.drop_constraint("fk_jobs_document_id_documents", type_="foreignkey")
        batch.drop_column("document_id")
        batch.create_index("ix_jobs_subject", ["subject_type", "subject_id"])
        batch.create_index("ix_jobs_type_idempotency_key", ["type", "idempotency_key"])


def downgrade() -> None:
    with _foreign_keys_off(), op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("document_id", sa.String(length=36), nullable=True))
    # Only subjects that are still documents can point at one again.
    op.execute(
        "UPDATE jobs SET document_id = subject_id WHERE subject_type = 'document' "
        "AND subject_id IN (SELECT id FROM documents)"
    )
    with _foreign_keys_off(), op.batch_alter_table("jobs") as batch:
        batch.drop_index("ix_jobs_type_idempotency_key")
        batch.drop_index("ix_jobs_subject")
        batch.drop_column("idempotency_key")
        batch.drop_column("payload")
        batch.drop_column("subject_id")
        batch.drop_column("subject_type")
        batch.create_foreign_key(
            "fk_jobs_document_id_documents",
            "documents",
            ["document_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_index("ix_jobs_document_id", ["document_id"])
