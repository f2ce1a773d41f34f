"""HTTP routes of the audit domain: read, export and verify the organization's trail."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from lexbase.audit.deps import AuditFiltersDep
from lexbase.audit.export import ExportFormat, export_events, export_filename
from lexbase.audit.schemas import AuditEventOut, ChainVerificationOut
from lexbase.audit.service import list_events, verify_chain
from lexbase.auth.deps import AuditReader
from lexbase.core.db import utcnow
from lexbase.core.deps import ResourcesDep, SessionDep
from lexbase.core.pagination import Page, PageDep

router = APIRouter(tags=["audit"])


@router.get("/audit/events", response_model=Page[AuditEventOut])
async def audit_events(
    principal: AuditReader, session: SessionDep, filters: AuditFiltersDep, page: PageDep
) -> Page[AuditEventOut]:
    events, total = await list_events(
        session, principal, filters, limit=page.limit, offset=page.offset
    )
    items = [AuditEventOut.model_validate(event) for event in events]
    return Page(items=items, total=total, next_cursor=page.next_cursor(total))


@router.get(
    "/audit/export",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/x-ndjson": {}, "text/csv": {}}}},
)
async def audit_export(
    principal: AuditReader,
    resources: ResourcesDep,
    filters: AuditFiltersDep,
    export_format: Annotated[ExportFormat, Query(alias="format")] = ExportFormat.JSONL,
) -> StreamingResponse:
    filename = export_filename(principal.organization_id, export_format, utcnow())
    return StreamingResponse(
        export_events(resources.sessionmaker, principal, filters, export_format),
        media_type=export_format.media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/audit/verify", response_model=ChainVerificationOut)
async def audit_verify(principal: AuditReader, session: SessionDep) -> ChainVerificationOut:
    result = await verify_chain(session, principal.organization_id)
    return ChainVerificationOut.model_validate(result)
