from __future__ import annotations

from lexbase.core.errors import Conflict, Forbidden, NotFound, ValidationFailed


class DocumentNotFound(NotFound):
    default_message = "Document not found"


class DocumentNotReady(Conflict):
    default_message = "The document has not been processed yet"


class UnknownMatter(ValidationFailed):
    default_message = "Matter not found"

    def __init__(self) -> None:
        super().__init__(details=[{"loc": ["body", "matter_id"], "message": "matter not found"}])


class WallMoveForbidden(Forbidden):
    default_message = (
        "Moving a document into or out of a restricted matter needs the permission to "
        "manage ethical walls"
    )


class IdempotencyKeyReused(Conflict):
    default_message = "This Idempotency-Key was used with a different request"
