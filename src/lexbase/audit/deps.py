"""Query parameters shared by the audit list and export routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from lexbase.audit.reads import ReadAudit
from lexbase.audit.service import AuditFilters
from lexbase.core.errors import ValidationFailed
from lexbase.core.types import UtcTimestamp


async def audit_filters(
    start: Annotated[
        UtcTimestamp | None, Query(alias="from", description="Events at or after (ISO-8601)")
    ] = None,
    end: Annotated[
        UtcTimestamp | None, Query(alias="to", description="Events before (ISO-8601)")
    ] = None,
    event_type: Annotated[str | None, Query(max_length=80)] = None,
    user_id: Annotated[str | None, Query(max_length=36, description="The acting user")] = None,
    resource_id: Annotated[str | None, Query(max_length=36)] = None,
) -> AuditFilters:
    if start is not None and end is not None and start > end:
        raise ValidationFailed(
            "'from' is after 'to'",
            details=[{"loc": ["query", "from"], "message": "must not be after 'to'"}],
        )
    return AuditFilters(
        start=start, end=end, event_type=event_type, user_id=user_id, resource_id=resource_id
    )


AuditFiltersDep = Annotated[AuditFilters, Depends(audit_filters)]


async def read_audit(request: Request) -> ReadAudit:
    reads: ReadAudit = request.app.state.read_audit
    return reads


ReadAuditDep = Annotated[ReadAudit, Depends(read_audit)]
