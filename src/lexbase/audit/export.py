"""Streaming exports of an organization's audit trail as JSON Lines or CSV."""

from __future__ import annotations

import csv
import enum
import io
import json
from collections.abc import AsyncIterator, Iterable
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from lexbase.audit.models import AuditEvent
from lexbase.audit.repository import STREAM_BATCH_SIZE, AuditRepository
from lexbase.audit.schemas import AuditEventOut
from lexbase.audit.service import AuditFilters, filtered_statement
from lexbase.core.principal import Principal

log = structlog.get_logger(__name__)

COLUMNS = tuple(AuditEventOut.model_fields)
# Events read per query and lines sent per body chunk.
BATCH_SIZE = STREAM_BATCH_SIZE


class ExportFormat(enum.StrEnum):
    JSONL = "jsonl"
    CSV = "csv"

    @property
    def media_type(self) -> str:
        return "application/x-ndjson" if self is ExportFormat.JSONL else "text/csv; charset=utf-8"


def export_filename(organization_id: str, export_format: ExportFormat, now: datetime) -> str:
    return f"audit-{organization_id}-{now:%Y%m%dT%H%M%SZ}.{export_format.value}"


def _compact_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _csv_line(values: Iterable[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(values)
    return buffer.getvalue()


def _render(event: AuditEvent, export_format: ExportFormat) -> str:
    item = AuditEventOut.model_validate(event).model_dump(mode="json")
    if export_format is ExportFormat.JSONL:
        return _compact_json(item) + "\n"
    return _csv_line(
        _compact_json(item[name])
        if name == "details"
        else ("" if item[name] is None else str(item[name]))
        for name in COLUMNS
    )


async def export_events(
    sessionmaker: async_sessionmaker[AsyncSession],
    principal: Principal,
    filters: AuditFilters,
    export_format: ExportFormat,
) -> AsyncIterator[str]:
    """The matching events, oldest first, in body chunks of up to `BATCH_SIZE` lines."""
    # The request's session is closed before a streaming body runs, so the export reads
    # through a session of its own that lives exactly as long as the stream.
    async with sessionmaker() as session:
        repository = AuditRepository(session)
        statement = filtered_statement(repository, principal, filters)
        lines = [_csv_line(COLUMNS)] if export_format is ExportFormat.CSV else []
        exported = 0
        async for event in repository.stream(statement, BATCH_SIZE):
            lines.append(_render(event, export_format))
            exported += 1
            if len(lines) >= BATCH_SIZE:
                yield "".join(lines)
                lines = []
        if lines:
            yield "".join(lines)
    log.info(
        "audit.exported",
        organization_id=principal.organization_id,
        format=export_format.value,
        events=exported,
    )
