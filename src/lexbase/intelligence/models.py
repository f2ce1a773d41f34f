"""Stored analyses of documents: the latest answers `GET /documents/{id}/analysis`, and an
identical request for an unchanged document is answered from here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from lexbase.core.db import Base, IdMixin, utcnow
from lexbase.core.scope import document_scoped


@document_scoped()
class DocumentAnalysis(IdMixin, Base):
    __tablename__ = "document_analyses"

    document_id: Mapped[str] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), index=True
    )
    organization_id: Mapped[str] = mapped_column(String(36))
    matter_id: Mapped[str | None] = mapped_column(String(36), default=None)
    kind: Mapped[str] = mapped_column(String(20))  # contract | case | general
    # What the result depends on: the document's content and processing (its hash and when it
    # was last indexed), the options, the models and the rules' version.
    cache_key: Mapped[str] = mapped_column(String(64))
    # The document's processing it was made from (when it was indexed): a reprocessed
    # document's earlier analyses are no longer its latest.
    document_version: Mapped[str] = mapped_column(String(40))
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[str | None] = mapped_column(String(36), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ix_document_analyses_lookup", "document_id", "cache_key"),
        Index("ix_document_analyses_latest", "document_id", "created_at"),
    )
