"""Query parameters shared by the audit list and export routes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Query

from lexbase.audit.service import AuditFilters
from lexbase.core.errors import ValidationFailed


def _utc(value: datetime | None) -> datetime | None:
    # API timestamps are UTC, so an offset-less one means UTC; the column refuses naive values.
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def audit_filters(
    start: Annotated[
        datetime | None, Query(alias="from", description="Events at or after (ISO-8601)")
    ] = None,
    end: Annotated[
        datetime | None, Query(alias="to", description="Events before (ISO-8601)")
    ] = None,
    event_type: Annotated[str | None, Query(max_length=80)] = None,
    user_id: Annotated[str | None, Query(max_length=36, description="The acting user")] = None,
    resource_id: Annotated[str | None, Query(max_length=36)] = None,
) -> AuditFilters:
    start, end = _utc(start), _utc(end)
    if start is not None and end is not None and start > end:
        raise ValidationFailed(
            "'from' is after 'to'",
            details=[{"loc": ["query", "from"], "message": "must not be after 'to'"}],
        )
    return AuditFilters(
        start=start, end=end, event_type=event_type, user_id=user_id, resource_id=resource_id
    )


AuditFiltersDep = Annotated[AuditFilters, Depends(audit_filters)]
