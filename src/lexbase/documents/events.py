"""The real-time event a document's status change publishes (`document.status`)."""

from __future__ import annotations

from lexbase.core.events import Event
from lexbase.documents.models import Document


def status_event(document: Document) -> Event:
    return Event(
        "document.status",
        document.organization_id,
        document.matter_id,
        {
            "document_id": document.id,
            "status": document.status,
            "error": document.error,
            "error_code": document.error_code,
            "page_count": document.page_count,
        },
    )
