"""Conversations and their messages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lexbase.core.db import Base, IdMixin, TimestampMixin, utcnow


class Conversation(IdMixin, TimestampMixin, Base):
    """A user's own thread of questions, limited to a matter or a set of documents if asked.
    Only its creator reads it (admins included, anyone else gets 404)."""

    __tablename__ = "conversations"

    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    # What retrieval may read: a matter, chosen documents, or (neither) everything the caller
    # may see. Walls are applied at every turn, so losing access narrows it by itself.
    matter_id: Mapped[str | None] = mapped_column(String(36), default=None)
    document_ids: Mapped[list[str] | None] = mapped_column(JSON, default=None)


class Message(IdMixin, Base):
    __tablename__ = "messages"

    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    organization_id: Mapped[str] = mapped_column(String(36))
    role: Mapped[str] = mapped_column(String(20))  # user | assistant
    content: Mapped[str] = mapped_column(Text)
    # Assistant messages: how the answer was made and what supports it.
    mode: Mapped[str | None] = mapped_column(String(20), default=None)  # generated | extractive
    grounded: Mapped[bool | None] = mapped_column(Boolean, default=None)
    citations: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    sentences: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    provider: Mapped[str | None] = mapped_column(String(30), default=None)
    model: Mapped[str | None] = mapped_column(String(200), default=None)
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    latency_ms: Mapped[int | None] = mapped_column(Integer, default=None)
    # complete | incomplete (a stream cut short: the part that was made) | failed
    status: Mapped[str] = mapped_column(String(20), default="complete")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_messages_conversation_created", "conversation_id", "created_at"),)
