"""Uploading, reading, changing and deleting documents."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import anyio
from sqlalchemy.ext.asyncio import AsyncSession

from lexbase.analytics.models import DOCUMENT_UPLOAD
from lexbase.analytics.service import record_usage
from lexbase.audit.service import record
from lexbase.core.db import after_commit, after_transaction, transaction
from lexbase.core.events import publish_after_commit
from lexbase.core.pagination import PageParams
from lexbase.core.permissions import Permission
from lexbase.core.principal import Principal
from lexbase.core.resources import Resources
from lexbase.documents.blobs import BlobKeeper
from lexbase.documents.errors import (
    DocumentNotFound,
    IdempotencyKeyReused,
    UnknownMatter,
    WallMoveForbidden,
)
from lexbase.documents.events import status_event
from lexbase.documents.models import Chunk, Document, DocumentCitation, DocumentText
from lexbase.documents.repository import DocumentContentRepository, DocumentRepository
from lexbase.documents.schemas import DocumentOut, DocumentUpdate, UploadOut
from lexbase.documents.tasks import INGEST_JOB, limits_for
from lexbase.ingest.limits import Limits
from lexbase.ingest.sniff import detect, validate
from lexbase.ingest.types import PIPELINE_VERSION, Detected
from lexbase.jobs.models import DOCUMENT_SUBJECT, IdempotencyKey, Job
from lexbase.jobs.repository import IdempotencyRepository, JobRepository
from lexbase.jobs.service import Subject, enqueue
from lexbase.matters.models import Matter
from lexbase.matters.repository import MatterRepository


@dataclass(frozen=True)
class Upload:
    data: bytes
    filename: str
    title: str | None
    matter_id: str | None
    document_type: str | None
    tags: list[str]
    idempotency_key: str | None


class DocumentService:
    def __init__(self, session: AsyncSession, resources: Resources) -> None:
        self.session = session
        self.resources = resources
        self.documents = DocumentRepository(session)
        self.content = DocumentContentRepository(session)
        self.jobs = JobRepository(session)

    async def upload(self, principal: Principal, upload: Upload) -> UploadOut:
        sha256 = hashlib.sha256(upload.data).hexdigest()
        request_hash = _request_hash(sha256, upload)
        # Everything that can refuse the upload, or answer it without storing anything, runs
        # before the bytes are written: sniffing and structural checks (encryption, page
        # count, zip bombs), then — on a read session, so SQLite's write lock is not held
        # through the slow blob write — the matter, the idempotency key and duplicates.
        detected = await anyio.to_thread.run_sync(
            _inspect, upload.data, upload.filename, limits_for(self.resources)
        )
        async with transaction(self.resources.sessionmaker) as read:
            early = await DocumentService(read, self.resources).answer_without_storing(
                principal, upload, sha256, request_hash
            )
        if early is not None:
            return early
        keeper = BlobKeeper(self.resources)
        pin_id = await keeper.pin(sha256)
        try:
            blob_key = await self.resources.blobs.put(upload.data)
        except BaseException:
            await keeper.release(sha256, pin_id)
            raise
        # Kept if this transaction stores the document, deleted if it does not.
        after_transaction(self.session, lambda: keeper.release_soon(blob_key, pin_id))
        # The same checks again, now serialized with concurrent uploads of the same bytes.
        await self.documents.lock_upload(principal.organization_id, sha256)
        answer = await self.answer_without_storing(principal, upload, sha256, request_hash)
        if answer is not None:
            return answer
        document, job = await self._accept(principal, upload, detected, sha256, blob_key)
        result = UploadOut(
            document=DocumentOut.model_validate(document), job_id=job.id, duplicate=False
        )
        if upload.idempotency_key:
            await IdempotencyRepository(self.session).put(
                IdempotencyKey(
                    organization_id=principal.organization_id,
                    user_id=principal.user_id,
                    key=upload.idempotency_key,
                    scope="documents.upload",
                    request_hash=request_hash,
                    response=result.model_dump(mode="json"),
                )
            )
        return result

    async def answer_without_storing(
        self, principal: Principal, upload: Upload, sha256: str, request_hash: str
    ) -> UploadOut | None:
        """Refuse the upload, or answer it from what is stored (a replayed key, a duplicate
        the caller may see); None when it is a new document. A repeat passes every check a
        first request does, and a copy hidden by a wall counts as nothing."""
        if upload.matter_id is not None:
            await self._visible_matter(principal, upload.matter_id)
        if upload.idempotency_key:
            replay = await self._replay(principal, upload.idempotency_key, request_hash)
            if replay is not None:
                return replay
        existing = await self.documents.visible_by_sha256(principal, sha256)
        if existing is not None:
            job = await self.jobs.latest_for_document(existing.id, INGEST_JOB)
            return UploadOut(
                document=DocumentOut.model_validate(existing),
                job_id=job.id if job else None,
                duplicate=True,
            )
        return None

    async def _accept(
        self, principal: Principal, upload: Upload, detected: Detected, sha256: str, blob_key: str
    ) -> tuple[Document, Job]:
        # The blob is durable before the row that points at it commits; a rollback leaves at
        # worst an unreferenced, content-addressed blob, never a row without its bytes.
        document = await self.documents.add(
            Document(
                organization_id=principal.organization_id,
                matter_id=upload.matter_id,
                title=upload.title or upload.filename,
                filename=upload.filename,
                content_type=detected.content_type,
                kind=detected.kind,
                size_bytes=len(upload.data),
                sha256=sha256,
                blob_key=blob_key,
                document_type=upload.document_type,
                tags=upload.tags,
                created_by=principal.user_id,
            )
        )
        job = await self.enqueue(principal, document)
        await record_usage(
            self.session,
            principal.organization_id,
            principal.user_id,
            DOCUMENT_UPLOAD,
            document_id=document.id,
        )
        await record(
            self.session,
            "document.uploaded",
            principal,
            resource=("document", document.id),
            details={"filename": upload.filename, "sha256": sha256, "size_bytes": len(upload.data)},
        )
        return document, job

    async def enqueue(self, principal: Principal, document: Document) -> Job:
        """Queue the document's processing, or return the run already queued or under way."""
        subject = Subject(
            DOCUMENT_SUBJECT, document.id, document.organization_id, document.matter_id
        )
        job = await enqueue(
            self.session,
            INGEST_JOB,
            subject,
            idempotency_key=_ingest_key(document.id),
            max_attempts=self.resources.settings.job_max_attempts,
            created_by=principal.user_id,
            input_hash=document.sha256,
            pipeline_version=PIPELINE_VERSION,
        )
        publish_after_commit(self.session, status_event(document))
        return job

    async def _replay(self, principal: Principal, key: str, request_hash: str) -> UploadOut | None:
        stored = await IdempotencyRepository(self.session).get(
            principal.organization_id, principal.user_id, key
        )
        if stored is None:
            return None
        if stored.request_hash != request_hash:
            raise IdempotencyKeyReused()
        replay = UploadOut.model_validate(stored.response)
        current = await self.documents.get_for(principal, replay.document.id)
        if current is None:  # deleted, or walled off since: the key's result is gone
            return None
        replay.document = DocumentOut.model_validate(current)
        return replay

    async def _visible_matter(self, principal: Principal, matter_id: str) -> Matter:
        matter = await MatterRepository(self.session).get_for(principal, matter_id)
        if matter is None:
            raise UnknownMatter()
        return matter

    async def get(self, principal: Principal, document_id: str) -> Document:
        document = await self.documents.get_for(principal, document_id)
        if document is None:
            raise DocumentNotFound()
        return document

    async def visible_ids(self, principal: Principal, ids: Sequence[str]) -> set[str]:
        """Those of `ids` naming documents the caller may see now."""
        return await self.documents.visible_ids(principal, ids)

    async def parties(self, principal: Principal, ids: Sequence[str]) -> list[str]:
        """Parties named in the metadata of those of `ids` the caller may see now."""
        return await self.documents.parties(principal, ids)

    async def list(
        self, principal: Principal, page: PageParams, **filters: Any
    ) -> tuple[Sequence[Document], int]:
        statement = self.documents.search(principal, **filters)
        return await self.documents.paginate(statement, limit=page.limit, offset=page.offset)

    async def text(self, principal: Principal, document_id: str) -> DocumentText | None:
        await self.get(principal, document_id)
        return await self.content.text_of(document_id)

    async def chunks(
        self, principal: Principal, document_id: str, page: PageParams
    ) -> tuple[Sequence[Chunk], int]:
        await self.get(principal, document_id)
        return await self.content.paginate(
            self.content.chunks_of(document_id), limit=page.limit, offset=page.offset
        )

    async def citations(self, principal: Principal, document_id: str) -> Sequence[DocumentCitation]:
        await self.get(principal, document_id)
        return await self.content.citations_of(document_id)

    async def file(self, principal: Principal, document_id: str) -> tuple[Document, bytes]:
        document = await self.get(principal, document_id)
        return document, await self.resources.blobs.get(document.blob_key)

    async def update(
        self, principal: Principal, document_id: str, body: DocumentUpdate
    ) -> Document:
        document = await self.get(principal, document_id)
        changes = body.model_dump(exclude_unset=True)
        matter_id = changes.pop("matter_id", document.matter_id)
        if matter_id != document.matter_id:
            await self._move(principal, document, matter_id)
        if "tags" in changes and changes["tags"] is not None:
            changes["tags"] = _clean_tags(changes["tags"])
        changes = {k: v for k, v in changes.items() if v is not None}
        if "title" in changes and changes["title"] != document.title:
            await self.documents.retitle_profile(document.id, document.title, changes["title"])
        await self.documents.update(document, changes)
        if changes:
            await record(
                self.session,
                "document.updated",
                principal,
                resource=("document", document.id),
                details={"fields": sorted(changes)},
            )
        return document

    async def _move(self, principal: Principal, document: Document, matter_id: str | None) -> None:
        """File the document under another matter (or none). Taking it out of, or putting it
        behind, a wall is a change of the wall, and needs the same permission."""
        target = await self._visible_matter(principal, matter_id) if matter_id else None
        source = await MatterRepository(self.session).get(document.matter_id or "")
        walled = any(m is not None and m.restricted for m in (source, target))
        if walled and not principal.can(Permission.MANAGE_WALLS):
            raise WallMoveForbidden()
        old_matter = document.matter_id
        await self.documents.move_to_matter(document, matter_id)
        await record(
            self.session,
            "document.moved",
            principal,
            resource=("document", document.id),
            details={"old_matter_id": old_matter, "new_matter_id": matter_id},
        )

    async def delete(self, principal: Principal, document_id: str) -> None:
        document = await self.get(principal, document_id)
        blob_key = document.blob_key
        await self.documents.delete(document)
        await record(
            self.session,
            "document.deleted",
            principal,
            resource=("document", document_id),
            details={"filename": document.filename, "sha256": document.sha256},
        )
        # The bytes go once the deletion is durable, and only if nothing else needs them.
        keeper = BlobKeeper(self.resources)
        after_commit(self.session, lambda: keeper.release_soon(blob_key))

    async def reprocess(self, principal: Principal, document_id: str) -> Job:
        """Queue the pipeline again, or hand back the run already queued or under way:
        repeating the call never piles up runs of one document."""
        document = await self.get(principal, document_id)
        pending = await self.jobs.unfinished_with_key(INGEST_JOB, _ingest_key(document.id))
        if pending is not None:
            return pending
        document.status, document.error, document.error_code = "queued", None, None
        job = await self.enqueue(principal, document)
        await record(
            self.session, "document.reprocessed", principal, resource=("document", document.id)
        )
        return job


def _ingest_key(document_id: str) -> str:
    return f"document:{document_id}"


def _inspect(data: bytes, filename: str, limits: Limits) -> Detected:
    detected = detect(data, filename)
    validate(data, detected, limits)
    return detected


def _request_hash(sha256: str, upload: Upload) -> str:
    fields = [
        sha256,
        upload.filename,
        upload.title or "",
        upload.matter_id or "",
        upload.document_type or "",
    ]
    return hashlib.sha256("\x1f".join([*fields, *upload.tags]).encode()).hexdigest()


def _clean_tags(tags: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for tag in tags:
        cleaned = tag.strip()[:100]
        if cleaned:
            seen.setdefault(cleaned, None)
    return list(seen)


def parse_tags(raw: str | None) -> list[str]:
    return _clean_tags(raw.split(",")) if raw else []
