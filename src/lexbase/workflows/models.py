"""Workflow templates an organization adds (built-in ones live in code, `templates.py`),
executions of a template, and their steps — each step's status, output and timings stored as
it finishes, so an execution resumes after a crash at its first unfinished step."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lexbase.core.db import Base, IdMixin, utcnow

# Execution statuses (API.md)
QUEUED, RUNNING, WAITING_REVIEW = "queued", "running", "waiting_review"
COMPLETED, FAILED, CANCELLED = "completed", "failed", "cancelled"
FINISHED = (COMPLETED, FAILED, CANCELLED)
# Step statuses
PENDING, SUCCEEDED, SKIPPED = "pending", "succeeded", "skipped"


class WorkflowTemplate(IdMixin, Base):
    __tablename__ = "workflow_templates"

    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(50))
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[str | None] = mapped_column(String(36), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WorkflowExecution(IdMixin, Base):
    __tablename__ = "workflow_executions"

    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    # The matter the input names (walls apply to the execution as to the matter).
    matter_id: Mapped[str | None] = mapped_column(String(36), default=None)
    template_id: Mapped[str] = mapped_column(String(100))
    template_name: Mapped[str] = mapped_column(String(200))
    # The definition as it was when the execution started: editing a template later does
    # not change a running execution.
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    input: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default=QUEUED)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    error_code: Mapped[str | None] = mapped_column(String(50), default=None)
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    # Who asked (user, session or API key), re-checked before every step.
    requested_by: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (Index("ix_workflow_executions_org_created", "organization_id", "created_at"),)


class WorkflowStep(IdMixin, Base):
    __tablename__ = "workflow_steps"

    execution_id: Mapped[str] = mapped_column(
        ForeignKey("workflow_executions.id", ondelete="CASCADE"), index=True
    )
    ordinal: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default=PENDING)
    output: Mapped[Any] = mapped_column(JSON, nullable=True, default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    # A review step's decision: {approve, comment, user_id, at}.
    review: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
