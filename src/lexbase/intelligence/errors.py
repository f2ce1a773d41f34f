"""Errors of document intelligence. A document the caller may not see is not found."""

from __future__ import annotations

from lexbase.core.errors import Conflict, NotFound, ServiceUnavailable, ValidationFailed


class NotReady(Conflict):
    code = "not_ready"
    default_message = "The document is still being processed; analyze it once it is indexed"


class DocumentFailed(Conflict):
    code = "document_failed"
    default_message = "The document failed processing; reprocess it before analyzing it"


class EmptyText(ValidationFailed):
    default_message = "The document has no text to analyze"

    def __init__(self) -> None:
        super().__init__(
            details=[{"loc": ["path", "document_id"], "message": "the extracted text is empty"}]
        )


class AnalysisNotFound(NotFound):
    default_message = "No analysis of this document yet"


class MethodUnavailable(ValidationFailed):
    default_message = "No language model is configured; ask for an extractive summary"

    def __init__(self) -> None:
        super().__init__(
            details=[{"loc": ["body", "method"], "message": "no language model is configured"}]
        )


class TooLongToSummarize(ValidationFailed):
    default_message = "The document is too long for an abstractive summary; ask for an extractive"

    def __init__(self, calls: int, limit: int) -> None:
        message = f"it needs {calls} model calls; one summary may make {limit}"
        super().__init__(details=[{"loc": ["body", "method"], "message": message}])


class ModelFailed(ServiceUnavailable):
    code = "model_unavailable"
    default_message = "No language model answered; try again, or ask for an extractive summary"


class UnknownScope(ValidationFailed):
    default_message = "The matter or documents named are not visible to you"

    def __init__(self, field: str, message: str = "not found") -> None:
        super().__init__(details=[{"loc": ["body", field], "message": message}])
