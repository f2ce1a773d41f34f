"""Usage: one event per counted action, written in the same transaction as the action; and
per-day rollups of them, kept by the `rollup_usage` job, so that dashboards read a row a day
instead of every event.

An event is rolled up once (`rolled_up`, set in the rollup's transaction). Readers add the
rollups of the days asked for to the events not rolled up yet, so figures are exact at any
moment, whether or not the job has run.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lexbase.core.db import Base, IdMixin, utcnow

# What is counted. `quantity` is 1 for each but `pages_processed` (the pages of a document).
MODEL_CALL = "model_call"
SEARCH = "search"
CHAT_MESSAGE = "chat_message"
DOCUMENT_UPLOAD = "document_upload"
PAGES_PROCESSED = "pages_processed"
WORKFLOW_RUN = "workflow_run"
KINDS = (MODEL_CALL, SEARCH, CHAT_MESSAGE, DOCUMENT_UPLOAD, PAGES_PROCESSED, WORKFLOW_RUN)


class UsageEvent(IdMixin, Base):
    __tablename__ = "usage_events"

    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    user_id: Mapped[str | None] = mapped_column(String(36), default=None)
    kind: Mapped[str] = mapped_column(String(30))  # one of KINDS
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    conversation_id: Mapped[str | None] = mapped_column(String(36), default=None)
    message_id: Mapped[str | None] = mapped_column(String(36), default=None)
    document_id: Mapped[str | None] = mapped_column(String(36), default=None)
    # The workflow execution the action was a step of (its cost is the template's).
    workflow_execution_id: Mapped[str | None] = mapped_column(String(36), default=None)
    provider: Mapped[str | None] = mapped_column(String(30), default=None)
    model: Mapped[str | None] = mapped_column(String(200), default=None)
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    latency_ms: Mapped[int | None] = mapped_column(Integer, default=None)
    # In the currency of the price table (LEXBASE_LLM_PRICES).
    estimated_cost: Mapped[float] = mapped_column(Float, default=0.0)
    outcome: Mapped[str] = mapped_column(String(20), default="ok")  # ok, incomplete, failed
    rolled_up: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ix_usage_events_org_created", "organization_id", "created_at"),
        Index("ix_usage_events_user_created", "user_id", "created_at"),
        # Readers add the events not rolled up yet: equal on both, a range on the time.
        Index("ix_usage_events_pending", "organization_id", "rolled_up", "created_at"),
        Index("ix_usage_events_workflow", "workflow_execution_id"),
    )


class UsageDaily(IdMixin, Base):
    """The events of one day (UTC), per organization, user, kind, provider and model. Absent
    values are '' (not NULL) so the unique key holds on every database."""

    __tablename__ = "usage_daily"

    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    user_id: Mapped[str] = mapped_column(String(36), default="")
    kind: Mapped[str] = mapped_column(String(30))
    provider: Mapped[str] = mapped_column(String(30), default="")
    model: Mapped[str] = mapped_column(String(200), default="")
    events: Mapped[int] = mapped_column(Integer, default=0)
    quantity: Mapped[int] = mapped_column(Integer, default=0)
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    estimated_cost: Mapped[float] = mapped_column(Float, default=0.0)

    __table_args__ = (
        UniqueConstraint(
            "organization_id", "day", "user_id", "kind", "provider", "model", name="uq_usage_daily"
        ),
        Index("ix_usage_daily_org_day", "organization_id", "day"),
    )
