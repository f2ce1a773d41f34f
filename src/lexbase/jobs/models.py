"""Background jobs. This table is the source of truth; a queue only delivers job ids."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ColumnElement, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lexbase.core.db import Base, IdMixin, utcnow
from lexbase.core.scope import document_scoped

DOCUMENT_SUBJECT = "document"

QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED = (
    "queued",
    "running",
    "succeeded",
    "failed",
    "cancelled",
)


@document_scoped(lambda document_id: Job.of_document(document_id))
class Job(IdMixin, Base):
    __tablename__ = "jobs"

    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    # What the job works on, by kind and id (a document today; a conversation or a workflow
    # execution next). No foreign key: the engine knows no domain's tables, and a job's
    # history outlives its subject. The matter is copied so walls apply to jobs directly.
    subject_type: Mapped[str | None] = mapped_column(String(30), default=None)
    subject_id: Mapped[str | None] = mapped_column(String(36), default=None)
    matter_id: Mapped[str | None] = mapped_column(String(36), default=None)
    type: Mapped[str] = mapped_column(String(50))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Enqueueing again with the same key while a job of the same type is unfinished returns
    # that job instead of adding another (jobs/service.py).
    idempotency_key: Mapped[str | None] = mapped_column(String(200), default=None)
    status: Mapped[str] = mapped_column(String(20), default=QUEUED)
    stage: Mapped[str | None] = mapped_column(String(30), default=None)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    run_after: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    lease_owner: Mapped[str | None] = mapped_column(String(100), default=None)
    input_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    pipeline_version: Mapped[str | None] = mapped_column(String(20), default=None)
    provenance: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    timings: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    error_code: Mapped[str | None] = mapped_column(String(50), default=None)
    created_by: Mapped[str | None] = mapped_column(String(36), default=None)
    # The trace of the request that queued it (W3C traceparent), continued by its run.
    traceparent: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (
        Index("ix_jobs_status_run_after", "status", "run_after"),
        Index("ix_jobs_subject", "subject_type", "subject_id"),
        Index("ix_jobs_type_idempotency_key", "type", "idempotency_key"),
    )

    @property
    def document_id(self) -> str | None:
        return self.subject_id if self.subject_type == DOCUMENT_SUBJECT else None

    @classmethod
    def of_document(cls, document_id: str) -> ColumnElement[bool]:
        """The jobs working on this document (for `core.scope.document_scoped`)."""
        return (cls.subject_type == DOCUMENT_SUBJECT) & (cls.subject_id == document_id)


class IdempotencyKey(Base):
    """The first response to a request carrying an `Idempotency-Key`, replayed on repeats of
    the same caller only (another user's key is a different key)."""

    __tablename__ = "idempotency_keys"

    organization_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    scope: Mapped[str] = mapped_column(String(50))
    request_hash: Mapped[str] = mapped_column(String(64))
    response: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
