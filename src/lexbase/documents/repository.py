"""All SQL of documents, their text, chunks and citations."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, Text, cast, delete, func, select, update

from lexbase.core.principal import Principal
from lexbase.core.repository import Repository
from lexbase.core.scope import ScopedRepository
from lexbase.documents.models import (
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

    async def by_sha256(self, organization_id: str, sha256: str) -> Document | None:
        return await self.get_one_or_none(
            select(Document).where(
                Document.organization_id == organization_id, Document.sha256 == sha256
            )
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

    async def retitle_profile(self, document_id: str, old_title: str, new_title: str) -> None:
        profile = await self.session.scalar(
            select(DocumentProfile).where(DocumentProfile.document_id == document_id)
        )
        if profile is not None:
            profile.text = replace_title(profile.text, old_title, new_title)

    async def blob_in_use(self, blob_key: str) -> bool:
        statement = select(func.count()).where(Document.blob_key == blob_key)
        return int((await self.session.execute(statement)).scalar_one()) > 0

    async def count_in_matter(self, matter_id: str) -> int:
        statement = select(func.count()).where(Document.matter_id == matter_id)
        return int((await self.session.execute(statement)).scalar_one())

    async def move_to_matter(self, document_id: str, matter_id: str | None) -> None:
        for model in (Chunk, DocumentCitation, DocumentProfile):
            await self.session.execute(
                update(model).where(model.document_id == document_id).values(matter_id=matter_id)
            )


class DocumentContentRepository(Repository[Chunk]):
    """Pipeline output of one document, replaced as a whole when the document is reprocessed."""

    model = Chunk

    async def text_of(self, document_id: str) -> DocumentText | None:
        return await self.session.get(DocumentText, document_id)

    async def replace(
        self,
        document_id: str,
        text: DocumentText,
        chunks: Sequence[Chunk],
        citations: Sequence[DocumentCitation],
        profile: DocumentProfile,
    ) -> None:
        for model in (Chunk, DocumentCitation, DocumentText, DocumentProfile):
            await self.session.execute(delete(model).where(model.document_id == document_id))
        await ensure_organization_index(self.session, profile.organization_id)
        self.session.add(text)
        self.session.add(profile)
        self.session.add_all(chunks)
        self.session.add_all(citations)
        await self.session.flush()

    def chunks_of(self, document_id: str) -> Select[Chunk]:
        return select(Chunk).where(Chunk.document_id == document_id).order_by(Chunk.ordinal)

    async def citations_of(self, document_id: str) -> Sequence[DocumentCitation]:
        statement = (
            select(DocumentCitation)
            .where(DocumentCitation.document_id == document_id)
            .order_by(DocumentCitation.start)
        )
        return (await self.session.execute(statement)).scalars().all()

    async def count_chunks(self, document_id: str) -> int:
        statement = select(func.count()).where(Chunk.document_id == document_id)
        return int((await self.session.execute(statement)).scalar_one())
