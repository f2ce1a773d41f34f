"""Documents, their extracted text, chunks and citations."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from lexbase.core.db import Base, IdMixin, TimestampMixin, new_id
from lexbase.core.scope import document_scoped
from lexbase.search.vector_column import EmbeddingVector


class Document(IdMixin, TimestampMixin, Base):
    __tablename__ = "documents"

    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    # RESTRICT: deleting a matter must never silently release its documents from the wall.
    matter_id: Mapped[str | None] = mapped_column(
        ForeignKey("matters.id", ondelete="RESTRICT"), index=True, default=None
    )
    title: Mapped[str] = mapped_column(String(500))
    filename: Mapped[str] = mapped_column(String(500))
    content_type: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(10))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    blob_key: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), default="queued")
    error: Mapped[str | None] = mapped_column(Text, default=None)
    error_code: Mapped[str | None] = mapped_column(String(50), default=None)
    page_count: Mapped[int | None] = mapped_column(Integer, default=None)
    document_type: Mapped[str | None] = mapped_column(String(20), default=None)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    legal_metadata: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    created_by: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    indexed_at: Mapped[datetime | None] = mapped_column(default=None)
    # Copied out of the legal metadata at indexing so search can filter and facet on them
    # inside its candidate queries: the first court named, its jurisdiction, and the date
    # the document speaks from (decision, else filing).
    court: Mapped[str | None] = mapped_column(String(50), default=None)
    jurisdiction: Mapped[str | None] = mapped_column(String(50), default=None)
    document_date: Mapped[date | None] = mapped_column(Date, default=None)

    # Not unique: a file identical to one behind a wall the uploader cannot see is stored as a
    # document of its own, so an upload never reveals what a wall hides.
    __table_args__ = (
        Index("ix_documents_org_sha256", "organization_id", "sha256"),
        Index("ix_documents_blob_key", "blob_key"),
        Index("ix_documents_org_status", "organization_id", "status"),
        Index("ix_documents_org_updated_at", "organization_id", "updated_at"),
    )


class BlobPin(IdMixin, Base):
    """A blob being stored by an upload that has not committed yet: until the pin is released
    or expires, no deletion of identical bytes may remove the file (documents/blobs.py)."""

    __tablename__ = "blob_pins"

    blob_key: Mapped[str] = mapped_column(String(64), index=True)
    expires_at: Mapped[datetime]


class DocumentText(Base):
    """The extracted text (pages joined by a form feed); every offset in the API indexes it."""

    __tablename__ = "document_texts"

    document_id: Mapped[str] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True
    )
    text: Mapped[str] = mapped_column(Text)
    pages: Mapped[list[dict[str, int]]] = mapped_column(JSON, default=list)


@document_scoped()
class Chunk(Base):
    __tablename__ = "chunks"

    # An explicit integer key: the keyword index is keyed on it, and SQLite may renumber
    # implicit rowids on VACUUM. `id` is the public, opaque identifier.
    pk: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    id: Mapped[str] = mapped_column(String(36), unique=True, default=new_id)

    document_id: Mapped[str] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), index=True
    )
    # Denormalized so search can apply tenant and wall filters inside its candidate queries.
    organization_id: Mapped[str] = mapped_column(String(36), index=True)
    matter_id: Mapped[str | None] = mapped_column(String(36), index=True, default=None)
    ordinal: Mapped[int] = mapped_column(Integer)
    page: Mapped[int | None] = mapped_column(Integer, default=None)
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    section: Mapped[str | None] = mapped_column(String(200), default=None)
    text: Mapped[str] = mapped_column(Text)
    # Unit-length vector from `embedding_model`; vectors of different models never compare.
    embedding: Mapped[NDArray[np.float32] | None] = mapped_column(EmbeddingVector, default=None)
    embedding_model: Mapped[str | None] = mapped_column(String(100), default=None)

    __table_args__ = (
        UniqueConstraint("document_id", "ordinal", name="uq_chunks_document_ordinal"),
        # Covers the in-memory vector index's "has anything changed?" check (count, max pk).
        Index("ix_chunks_org_embedding_model", "organization_id", "embedding_model"),
    )


@document_scoped()
class DocumentProfile(Base):
    """What a query names a document by — its title, parties and opening text — indexed for
    full-text search so search can tell which document a query is about."""

    __tablename__ = "document_profiles"

    pk: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    document_id: Mapped[str] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), unique=True
    )
    organization_id: Mapped[str] = mapped_column(String(36), index=True)
    matter_id: Mapped[str | None] = mapped_column(String(36), default=None)
    text: Mapped[str] = mapped_column(Text)


@document_scoped()
class DocumentCitation(IdMixin, Base):
    __tablename__ = "citations"

    document_id: Mapped[str] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), index=True
    )
    organization_id: Mapped[str] = mapped_column(String(36))
    matter_id: Mapped[str | None] = mapped_column(String(36), default=None)
    kind: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    normalized: Mapped[str] = mapped_column(String(300))
    reporter: Mapped[str | None] = mapped_column(String(100), default=None)
    volume: Mapped[str | None] = mapped_column(String(50), default=None)
    page: Mapped[str | None] = mapped_column(String(50), default=None)
    pinpoint: Mapped[str | None] = mapped_column(String(100), default=None)
    year: Mapped[str | None] = mapped_column(String(10), default=None)
    court: Mapped[str | None] = mapped_column(String(50), default=None)
    case_name: Mapped[str | None] = mapped_column(String(300), default=None)
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)

    __table_args__ = (Index("ix_citations_org_normalized", "organization_id", "normalized"),)
