"""All SQL of documents, their text, chunks and citations."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, Text, cast, delete, func, insert, select, text, update

from lexbase.core.principal import Principal
from lexbase.core.repository import Repository
from lexbase.core.scope import DOCUMENT_SCOPED, ScopedRepository
from lexbase.documents.models import (
    BlobPin,
    Chunk,
    Document,
    DocumentCitation,
    DocumentProfile,
    DocumentText,
)
from lexbase.documents.profile import replace_title
from lexbase.search.keyword import ensure_organization_index


class DocumentRepository(ScopedRepository[Document]):
    model = Document

    async def visible_by_sha256(self, principal: Principal, sha256: str) -> Document | None:
        """The oldest document with these bytes that the caller may see (a copy behind a wall
        it cannot see does not count: to the caller the bytes are new)."""
        statement = (
            self.statement_for(principal)
            .where(Document.sha256 == sha256)
            .order_by(Document.created_at, Document.id)
            .limit(1)
        )
        return await self.get_one_or_none(statement)

    async def lock_upload(self, organization_id: str, sha256: str) -> None:
        """Serialize uploads of the same bytes in one organization until this transaction
        ends, so two at once cannot both store a new document (SQLite's write lock already
        serializes every writer)."""
        if self.session.get_bind().dialect.name == "postgresql":
            await self.session.execute(
                text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
                {"key": f"upload:{organization_id}:{sha256}"},
            )

    def search(
        self,
        principal: Principal,
        *,
        matter_id: str | None = None,
        document_type: str | None = None,
        status: str | None = None,
        tag: str | None = None,
        q: str | None = None,
    ) -> Select[Document]:
        statement = self.statement_for(principal).order_by(Document.created_at.desc(), Document.id)
        if matter_id is not None:
            statement = statement.where(Document.matter_id == matter_id)
        if document_type is not None:
            statement = statement.where(Document.document_type == document_type)
        if status is not None:
            statement = statement.where(Document.status == status)
        if q:
            escaped = q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            statement = statement.where(
                func.lower(Document.title).like(f"%{escaped}%", escape="\\")
            )
        if tag is not None:
            # Tags are a small JSON list; match the serialized element exactly.
            statement = statement.where(
                func.lower(cast(Document.tags, Text)).contains(f'"{tag.lower()}"')
            )
        return statement

    async def visible_ids(self, principal: Principal, ids: Sequence[str]) -> set[str]:
        """Those of `ids` naming documents the caller may see."""
        if not ids:
            return set()
        statement = (
            self.statement_for(principal)
            .where(Document.id.in_(list(ids)))
            .with_only_columns(Document.id)
        )
        return set((await self.session.execute(statement)).scalars().all())

    async def parties(self, principal: Principal, ids: Sequence[str]) -> list[str]:
        """The parties named in the legal metadata of those of `ids` the caller may see."""
        if not ids:
            return []
        statement = (
            self.statement_for(principal)
            .where(Document.id.in_(list(ids)))
            .with_only_columns(Document.legal_metadata)
        )
        names: list[str] = []
        for metadata in (await self.session.execute(statement)).scalars():
            for party in (metadata or {}).get("parties") or []:
                name = party if isinstance(party, str) else party.get("name", "")
                if isinstance(name, str) and name.strip() and name.strip() not in names:
                    names.append(name.strip())
        return names

    async def filenames(self, principal: Principal) -> dict[str, str]:
        """Every document the caller may see, by id, with its file name."""
        statement = self.statement_for(principal).with_only_columns(Document.id, Document.filename)
        return {id_: name for id_, name in await self.session.execute(statement)}

    async def start_processing(self, document_id: str) -> Document | None:
        """Mark the document as being processed (its earlier error cleared)."""
        document = await self.get(document_id)
        if document is not None:
            document.status, document.error, document.error_code = "processing", None, None
        return document

    async def get_locked(self, document_id: str) -> Document | None:
        """The document, its row locked until this transaction ends (a pipeline storing its
        output and a move to another matter take turns)."""
        return await self.session.get(Document, document_id, with_for_update=True)

    async def mark_failed(self, document_id: str, message: str, code: str) -> Document | None:
        document = await self.get(document_id)
        if document is not None:
            document.status, document.error, document.error_code = "failed", message, code
        return document

    async def retitle_profile(self, document_id: str, old_title: str, new_title: str) -> None:
        profile = await self.session.scalar(
            select(DocumentProfile).where(DocumentProfile.document_id == document_id)
        )
        if profile is not None:
            profile.text = replace_title(profile.text, old_title, new_title)

    async def move_to_matter(self, document: Document, matter_id: str | None) -> None:
        """Move the document and every row that carries its matter (each table registered
        with `document_scoped`) in this transaction. The document's row is locked first, so
        a pipeline storing its output at the same time cannot add rows under the old matter
        after they were moved."""
        await self.session.execute(
            select(Document.id).where(Document.id == document.id).with_for_update()
        )
        for model, rows_of in DOCUMENT_SCOPED:
            await self.session.execute(
                update(model).where(rows_of(document.id)).values(matter_id=matter_id)
            )
        document.matter_id = matter_id


class DocumentContentRepository(Repository[Chunk]):
    """Pipeline output of one document, replaced as a whole when the document is reprocessed."""

    model = Chunk

    async def text_of(self, document_id: str) -> DocumentText | None:
        return await self.session.get(DocumentText, document_id)

    async def replace(
        self,
        document_id: str,
        text: DocumentText,
        chunks: Sequence[dict[str, Any]],
        citations: Sequence[dict[str, Any]],
        profile: DocumentProfile,
    ) -> None:
        """`chunks` and `citations` are rows of `Chunk` and `DocumentCitation` (column values):
        inserted in bulk, a statement per batch rather than an object per row (a long
        contract has thousands of chunks, and SQLite's one writer waits for them)."""
        for model in (Chunk, DocumentCitation, DocumentText, DocumentProfile):
            await self.session.execute(delete(model).where(model.document_id == document_id))
        await ensure_organization_index(self.session, profile.organization_id)
        self.session.add(text)
        self.session.add(profile)
        await self.session.flush()
        if chunks:
            await self.session.execute(insert(Chunk), chunks)
        if citations:
            await self.session.execute(insert(DocumentCitation), citations)

    def chunks_of(self, document_id: str) -> Select[Chunk]:
        return select(Chunk).where(Chunk.document_id == document_id).order_by(Chunk.ordinal)

    async def citations_of(self, document_id: str) -> Sequence[DocumentCitation]:
        statement = (
            select(DocumentCitation)
            .where(DocumentCitation.document_id == document_id)
            .order_by(DocumentCitation.start)
        )
        return (await self.session.execute(statement)).scalars().all()


class BlobRepository(Repository[BlobPin]):
    """Which stored blobs rows still need: referenced by a document, or pinned by an upload."""

    model = BlobPin

    async def lock(self, blob_key: str) -> None:
        """Serialize pinning and releasing one blob until this transaction ends (SQLite's
        write lock already serializes every writer)."""
        if self.session.get_bind().dialect.name == "postgresql":
            await self.session.execute(
                text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
                {"key": f"blob:{blob_key}"},
            )

    async def unpin(self, pin_id: str) -> None:
        await self.session.execute(delete(BlobPin).where(BlobPin.id == pin_id))

    async def needed(self, blob_keys: Sequence[str], now: datetime) -> set[str]:
        """Those of `blob_keys` that a document references or a live pin holds."""
        referenced = select(Document.blob_key).where(Document.blob_key.in_(blob_keys))
        pinned = select(BlobPin.blob_key).where(
            BlobPin.blob_key.in_(blob_keys), BlobPin.expires_at > now
        )
        rows = await self.session.execute(referenced.union(pinned))
        return {key for (key,) in rows}

    async def drop_expired(self, now: datetime) -> int:
        result = await self.session.execute(delete(BlobPin).where(BlobPin.expires_at <= now))
        return int(getattr(result, "rowcount", 0) or 0)
