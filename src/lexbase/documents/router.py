"""HTTP routes of documents (API.md: Documents and jobs)."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Header, Query, Response, UploadFile, status
from fastapi.responses import PlainTextResponse

from lexbase.audit.deps import ReadAuditDep
from lexbase.auth.deps import Reader, Writer
from lexbase.core.deps import ResourcesDep, SessionDep, StatementSessionDep
from lexbase.core.errors import PayloadTooLarge
from lexbase.core.pagination import Page, PageDep
from lexbase.documents.errors import DocumentNotReady
from lexbase.documents.schemas import (
    ChunkOut,
    CitationOut,
    DocumentOut,
    DocumentTypeName,
    DocumentUpdate,
    PageOut,
    ReprocessOut,
    TextOut,
    UploadOut,
)
from lexbase.documents.service import DocumentService, Upload, parse_tags

router = APIRouter(prefix="/documents", tags=["documents"])

DocumentStatus = Literal["queued", "processing", "indexed", "failed"]


@router.post("", response_model=UploadOut, status_code=status.HTTP_202_ACCEPTED)
async def upload_document(
    principal: Writer,
    session: SessionDep,
    resources: ResourcesDep,
    file: Annotated[UploadFile, File(description="PDF, DOCX, DOC, HTML or plain text")],
    matter_id: Annotated[str | None, Form(max_length=36)] = None,
    title: Annotated[str | None, Form(max_length=500)] = None,
    document_type: Annotated[DocumentTypeName | None, Form()] = None,
    tags: Annotated[str | None, Form(max_length=2000, description="Comma-separated")] = None,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> UploadOut:
    limit = resources.settings.max_upload_mb * 1024 * 1024
    if file.size is not None and file.size > limit:
        raise PayloadTooLarge(
            f"The file exceeds the {resources.settings.max_upload_mb} MB upload limit"
        )
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge(
            f"The file exceeds the {resources.settings.max_upload_mb} MB upload limit"
        )
    upload = Upload(
        data=data,
        filename=(file.filename or "upload").rsplit("/", 1)[-1][:500],
        title=title.strip() if title and title.strip() else None,
        matter_id=matter_id or None,
        document_type=document_type,
        tags=parse_tags(tags),
        idempotency_key=idempotency_key,
    )
    return await DocumentService(session, resources).upload(principal, upload)


@router.get("", response_model=Page[DocumentOut])
async def list_documents(
    principal: Reader,
    session: SessionDep,
    resources: ResourcesDep,
    page: PageDep,
    matter_id: Annotated[str | None, Query(max_length=36)] = None,
    document_type: DocumentTypeName | None = None,
    status: DocumentStatus | None = None,
    tag: Annotated[str | None, Query(max_length=100)] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[DocumentOut]:
    items, total = await DocumentService(session, resources).list(
        principal,
        page,
        matter_id=matter_id,
        document_type=document_type,
        status=status,
        tag=tag,
        q=q,
    )
    return Page(
        items=[DocumentOut.model_validate(d) for d in items],
        total=total,
        next_cursor=page.next_cursor(total),
    )


@router.get("/{document_id}", response_model=DocumentOut)
async def get_document(
    document_id: str,
    principal: Reader,
    session: StatementSessionDep,  # one scoped SELECT
    resources: ResourcesDep,
    reads: ReadAuditDep,
) -> DocumentOut:
    document = await DocumentService(session, resources).get(principal, document_id)
    reads.note(principal, document.id, "document")
    return DocumentOut.model_validate(document)


@router.patch("/{document_id}", response_model=DocumentOut)
async def update_document(
    document_id: str,
    body: DocumentUpdate,
    principal: Writer,
    session: SessionDep,
    resources: ResourcesDep,
) -> DocumentOut:
    document = await DocumentService(session, resources).update(principal, document_id, body)
    return DocumentOut.model_validate(document)


@router.delete("/{document_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_document(
    document_id: str, principal: Writer, session: SessionDep, resources: ResourcesDep
) -> Response:
    await DocumentService(session, resources).delete(principal, document_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/{document_id}/text",
    response_model=TextOut,
    responses={200: {"content": {"text/plain": {}, "application/json": {}}}},
)
async def document_text(
    document_id: str,
    principal: Reader,
    session: SessionDep,
    resources: ResourcesDep,
    reads: ReadAuditDep,
    format: Literal["text", "json"] = "text",
) -> Response | TextOut:
    stored = await DocumentService(session, resources).text(principal, document_id)
    if stored is None:
        raise DocumentNotReady()
    reads.note(principal, document_id, "text")
    if format == "json":
        return TextOut(text=stored.text, pages=[PageOut(**p) for p in stored.pages])
    return PlainTextResponse(stored.text, media_type="text/plain; charset=utf-8")


@router.get("/{document_id}/file", response_class=Response)
async def document_file(
    document_id: str,
    principal: Reader,
    session: SessionDep,
    resources: ResourcesDep,
    reads: ReadAuditDep,
) -> Response:
    document, data = await DocumentService(session, resources).file(principal, document_id)
    reads.note(principal, document.id, "file")
    disposition = f"attachment; filename*=UTF-8''{quote(document.filename)}"
    return Response(
        data, media_type=document.content_type, headers={"Content-Disposition": disposition}
    )


@router.get("/{document_id}/chunks", response_model=Page[ChunkOut])
async def document_chunks(
    document_id: str,
    principal: Reader,
    session: SessionDep,
    resources: ResourcesDep,
    reads: ReadAuditDep,
    page: PageDep,
) -> Page[ChunkOut]:
    items, total = await DocumentService(session, resources).chunks(principal, document_id, page)
    reads.note(principal, document_id, "chunks")
    return Page(
        items=[ChunkOut.model_validate(c) for c in items],
        total=total,
        next_cursor=page.next_cursor(total),
    )


@router.get("/{document_id}/citations", response_model=list[CitationOut])
async def document_citations(
    document_id: str,
    principal: Reader,
    session: SessionDep,
    resources: ResourcesDep,
    reads: ReadAuditDep,
) -> list[CitationOut]:
    citations = await DocumentService(session, resources).citations(principal, document_id)
    reads.note(principal, document_id, "citations")
    return [CitationOut.model_validate(c) for c in citations]


@router.post(
    "/{document_id}/reprocess", response_model=ReprocessOut, status_code=status.HTTP_202_ACCEPTED
)
async def reprocess_document(
    document_id: str, principal: Writer, session: SessionDep, resources: ResourcesDep
) -> ReprocessOut:
    job = await DocumentService(session, resources).reprocess(principal, document_id)
    return ReprocessOut(job_id=job.id)
