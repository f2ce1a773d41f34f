"""The `analyze_document` job: an analysis, summary or questions too long to answer inline
(`AnalysisService` decides, and records the job with who asked and what).

It runs as the caller stands when it runs, not as they stood when they asked: the user must
still be active with a role that may run analyses, their sign-in session or API key still
live, and the document still visible to them (walls, tenant) and indexed. Otherwise the job
fails at once with a fixed reason and nothing is stored. A model that does not answer is
retried with backoff like any transient failure.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from lexbase.auth.deps import acting_for
from lexbase.core.db import transaction
from lexbase.core.errors import LexbaseError, NotFound
from lexbase.core.events import Event
from lexbase.core.permissions import Permission
from lexbase.core.principal import Principal
from lexbase.core.resources import Resources
from lexbase.intelligence.deps import IntelligenceState
from lexbase.intelligence.errors import (
    DocumentFailed,
    EmptyText,
    MethodUnavailable,
    NotReady,
    TooLongToSummarize,
)
from lexbase.intelligence.schemas import (
    AnalysisOut,
    AnalysisRequest,
    JobAccepted,
    QuestionsOut,
    QuestionsRequest,
    SummaryRequest,
)
from lexbase.intelligence.service import ANALYSIS_JOB, AnalysisService, Run
from lexbase.jobs.models import Job
from lexbase.jobs.registry import JobContext, PermanentJobError

__all__ = ["ANALYSIS_JOB", "AnalyzeDocument"]

REQUESTER_GONE = "requester_unauthorized"
DOCUMENT_GONE = "document_unavailable"
MESSAGES = {
    REQUESTER_GONE: "The person who asked for this analysis may no longer run it",
    DOCUMENT_GONE: "The document is gone or no longer visible to the person who asked",
}
# Refusals a retry cannot change, by the code the job fails with; the message is the
# refusal's fixed sentence.
REFUSALS: dict[type[LexbaseError], str] = {
    NotReady: "not_ready",
    DocumentFailed: "document_failed",
    EmptyText: "empty_text",
    MethodUnavailable: "no_language_model",
    TooLongToSummarize: "too_long",
}


class AnalyzeDocument:
    """`state`: the app's (its clause model and language models, shared); a worker process
    opens one of its own on its first job and keeps it."""

    def __init__(self, state: IntelligenceState | None = None) -> None:
        self._state = state
        self._lock = asyncio.Lock()

    async def run(self, context: JobContext) -> dict[str, Any] | None:
        job, resources = context.job, context.resources
        principal = await _requester(resources, job)
        service = AnalysisService(resources, await self._state_for(resources))
        operation, body = job.payload["operation"], job.payload["request"]
        document_id = job.subject_id
        assert document_id is not None
        run = Run.job(context.progress)
        try:
            if operation == "analysis":
                made: Any = await service.analyze(
                    principal, document_id, AnalysisRequest.model_validate(body), run
                )
            elif operation == "summary":
                made = await service.summarize(
                    principal, document_id, SummaryRequest.model_validate(body), run
                )
            elif operation == "questions":
                made = await service.questions(
                    principal, document_id, QuestionsRequest.model_validate(body), run
                )
            else:
                raise PermanentJobError("Unknown analysis operation", "unknown_operation")
        except NotFound:
            raise PermanentJobError(MESSAGES[DOCUMENT_GONE], DOCUMENT_GONE) from None
        except tuple(REFUSALS) as exc:
            raise PermanentJobError(exc.default_message, REFUSALS[type(exc)]) from None
        assert not isinstance(made, JobAccepted)  # a job runs its work inline
        result: dict[str, Any] = {"operation": operation, "document_id": document_id}
        if isinstance(made, AnalysisOut):
            result["analysis_id"] = made.id
        elif isinstance(made, QuestionsOut):
            result["questions"] = len(made.questions)
        else:
            result["key_points"] = len(made.key_points)
        return result

    async def on_failed(
        self, session: AsyncSession, job: Job, message: str, code: str
    ) -> Event | None:
        return None  # the document itself is unchanged; the job's own event says it failed

    async def _state_for(self, resources: Resources) -> IntelligenceState:
        if self._state is None:
            async with self._lock:
                if self._state is None:
                    self._state = IntelligenceState.open(resources.settings)
        return self._state


async def _requester(resources: Resources, job: Job) -> Principal:
    """Who asked, as they stand now; a permanent failure when they may no longer run it."""
    async with transaction(resources.sessionmaker) as session:
        principal = await acting_for(session, job.payload["requested_by"], Permission.WRITE)
    if principal is None:
        raise PermanentJobError(MESSAGES[REQUESTER_GONE], REQUESTER_GONE)
    return principal
