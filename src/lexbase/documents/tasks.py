"""The `ingest_document` job: run the ingest library's pipeline on a stored upload and index
its output. Documents own this job; its reads and writes go through their repositories.

Re-running it (a retry, a reprocess, a worker killed half-way) replaces the document's
text, chunks and citations in one transaction, so a document is indexed exactly once.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from datetime import date
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from lexbase.analytics.models import PAGES_PROCESSED
from lexbase.analytics.service import record_usage
from lexbase.core.db import transaction, utcnow
from lexbase.core.events import Event
from lexbase.core.metrics import work
from lexbase.core.processes import WorkerLost
from lexbase.core.resources import Resources
from lexbase.documents.events import status_event
from lexbase.documents.models import (
    Document,
    DocumentProfile,
    DocumentText,
)
from lexbase.documents.profile import profile_text
from lexbase.documents.repository import DocumentContentRepository, DocumentRepository
from lexbase.ingest.errors import FileRejected, UnsupportedFileType, public_message
from lexbase.ingest.limits import Limits
from lexbase.ingest.types import Detected, FileKind
from lexbase.jobs.models import Job
from lexbase.jobs.registry import JobContext, PermanentJobError
from lexbase.jobs.repository import JobRepository
from lexbase.providers.embedders import (
    EmbedderSpec,
    embedder_spec,
    is_prepared,
    prepare_embedder,
)

if TYPE_CHECKING:
    from lexbase.ingest.embedding import Embedded
    from lexbase.ingest.pipeline import PipelineOutput

log = structlog.get_logger(__name__)

INGEST_JOB = "ingest_document"


def limits_for(resources: Resources) -> Limits:
    settings = resources.settings
    return Limits(max_bytes=settings.max_upload_mb * 1024 * 1024, max_pages=settings.max_pages)


class IngestDocument:
    async def warm(self, resources: Resources) -> None:
        await warm_ingest_processes(resources)

    async def run(self, context: JobContext) -> dict[str, Any] | None:
        resources = context.resources
        document = await self._start(context)
        if document is None:
            return {"skipped": "document no longer exists"}
        await context.progress("extract", 0.1)
        data = await resources.blobs.get(document.blob_key)
        detected = Detected(kind=_kind(document.kind), content_type=document.content_type)
        spec = embedder_spec(resources.settings)
        await _prepared(spec)
        # Imported here: the stage libraries load in the worker processes, not the API.
        from lexbase.ingest.embedding import process_document

        try:
            output, embedded = await resources.processes.run(
                process_document,
                data,
                detected,
                limits_for(resources),
                spec,
                document.title,
                limit_seconds=resources.settings.ingest_timeout_seconds,
            )
        except (FileRejected, UnsupportedFileType) as exc:
            raise PermanentJobError(public_message(exc), exc.code, detail=exc.message) from None
        await context.progress("index", 0.9)
        stored = await self._store(context, document.id, output, embedded)
        if not stored:
            return {"skipped": "document deleted while processing"}
        work().documents.labels(stage="index", outcome="succeeded").inc()
        return {
            "pages": len(output.extracted.pages),
            "chunks": len(output.chunks),
            "citations": len(output.metadata.citations),
            "characters": len(output.extracted.text),
        }

    async def _start(self, context: JobContext) -> Document | None:
        async with transaction(context.resources.write_sessionmaker) as session:
            document = await DocumentRepository(session).start_processing(_subject(context.job))
        if document is not None:
            await context.resources.events.publish(status_event(document))
        return document

    async def _store(
        self, context: JobContext, document_id: str, output: PipelineOutput, embedded: Embedded
    ) -> bool:
        extracted, metadata = output.extracted, output.metadata
        async with transaction(context.resources.write_sessionmaker) as session:
            document = await DocumentRepository(session).get_locked(document_id)
            if document is None:
                return False
            scope = {"organization_id": document.organization_id, "matter_id": document.matter_id}
            chunks = [
                {
                    "document_id": document_id,
                    "ordinal": c.ordinal,
                    "page": c.page,
                    "start": c.start,
                    "end": c.end,
                    "section": c.section,
                    "text": c.text,
                    "embedding": vector,
                    "embedding_model": embedded.model,
                    **scope,
                }
                for c, vector in zip(output.chunks, embedded.vectors, strict=True)
            ]
            citations = [
                {"document_id": document_id, **scope, **asdict(c)} for c in metadata.citations
            ]
            text = DocumentText(
                document_id=document_id,
                text=extracted.text,
                pages=[asdict(p) for p in extracted.pages],
            )
            profile = DocumentProfile(
                document_id=document_id,
                text=profile_text(document.title, metadata.parties, extracted.text),
                **scope,
            )
            await DocumentContentRepository(session).replace(
                document_id, text, chunks, citations, profile
            )
            document.status = "indexed"
            document.page_count = len(extracted.pages)
            document.document_type = document.document_type or metadata.document_type
            document.legal_metadata = _metadata_json(output)
            document.court = metadata.courts[0] if metadata.courts else None
            document.jurisdiction = metadata.jurisdiction
            document.document_date = _date(metadata.decision_date or metadata.filing_date)
            document.indexed_at = utcnow()
            # Counted for whoever uploaded it (a reprocess counts the pages again: they were).
            await record_usage(
                session,
                document.organization_id,
                document.created_by,
                PAGES_PROCESSED,
                quantity=len(extracted.pages),
                document_id=document_id,
            )
            await JobRepository(session).record_provenance(
                context.job.id,
                context.job.lease_owner or "",
                provenance=output.provenance
                | {"embedder": embedded.model, "embedder_version": embedded.version},
                timings=output.timings | {"embed": round(embedded.seconds, 4)},
            )
        await context.resources.events.publish(status_event(document))
        log.info("document.indexed", document_id=document_id, chunks=len(chunks))
        return True

    async def on_failed(
        self, session: AsyncSession, job: Job, message: str, code: str
    ) -> Event | None:
        document = await DocumentRepository(session).mark_failed(_subject(job), message, code)
        work().documents.labels(stage=job.stage or "queued", outcome="failed").inc()
        return None if document is None else status_event(document)


async def warm_ingest_processes(resources: Resources) -> None:
    """Start the worker processes with the pipeline imported and the embedder loaded, so
    the first document does not wait for them. A failure is logged: they load lazily."""
    from lexbase.ingest.embedding import warm_worker

    try:
        await resources.processes.warm(
            warm_worker, embedder_spec(resources.settings), limit_seconds=300
        )
    except (WorkerLost, OSError) as exc:
        log.warning("processes.warm_up_failed", error=str(exc))


async def _prepared(spec: EmbedderSpec) -> None:
    """The embedder's files made before a worker process loads it (a worker process may not
    use the memory a distillation needs; made once, at the first document)."""
    if not is_prepared(spec):
        await asyncio.to_thread(prepare_embedder, spec)


def _metadata_json(output: PipelineOutput) -> dict[str, Any]:
    metadata = output.metadata
    unique_citations = list(dict.fromkeys(c.normalized for c in metadata.citations))
    return {
        "citations": unique_citations[:500],
        "courts": metadata.courts,
        "court_names": metadata.court_names,
        "jurisdiction": metadata.jurisdiction,
        "parties": metadata.parties,
        "case_number": metadata.case_number,
        "dates": {
            "decision": metadata.decision_date,
            "filing": metadata.filing_date,
            "mentioned": metadata.dates,
        },
        "document_type": metadata.document_type,
        "pages_without_text": output.extracted.pages_without_text,
        "encoding": output.extracted.encoding,
    }


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _kind(value: str) -> FileKind:
    kinds: dict[str, FileKind] = {
        "pdf": "pdf",
        "docx": "docx",
        "doc": "doc",
        "html": "html",
        "text": "text",
        "rtf": "rtf",
    }
    return kinds[value]


def _subject(job: Job) -> str:
    """The document an ingest job works on."""
    return job.document_id or ""
