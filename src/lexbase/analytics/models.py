"""Usage events: one row per counted action (a model call today), written in the same
transaction as the action; the analytics endpoints aggregate them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from lexbase.core.db import Base, IdMixin, utcnow


class UsageEvent(IdMixin, Base):
    __tablename__ = "usage_events"

    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    user_id: Mapped[str | None] = mapped_column(String(36), default=None)
    kind: Mapped[str] = mapped_column(String(30))  # model_call, …
    conversation_id: Mapped[str | None] = mapped_column(String(36), default=None)
    message_id: Mapped[str | None] = mapped_column(String(36), default=None)
    provider: Mapped[str | None] = mapped_column(String(30), default=None)
    model: Mapped[str | None] = mapped_column(String(200), default=None)
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    latency_ms: Mapped[int | None] = mapped_column(Integer, default=None)
    # In the currency of the price table (LEXBASE_LLM_PRICES).
    estimated_cost: Mapped[float] = mapped_column(Float, default=0.0)
    outcome: Mapped[str] = mapped_column(String(20), default="ok")  # ok, incomplete, failed
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ix_usage_events_org_created", "organization_id", "created_at"),
        Index("ix_usage_events_user_created", "user_id", "created_at"),
    )
