"""Job types and their handlers. A domain registers a handler for each job type it owns."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from lexbase.core.events import Event
from lexbase.core.resources import Resources
from lexbase.jobs.models import Job


class PermanentJobError(Exception):
    """A failure that retrying cannot fix (e.g. a corrupt file): the job fails at once.

    `message` is shown to every reader of the job and its subject, so it is a fixed sentence
    per `code`; specifics (counts, page numbers, an exception's text) go in `detail`, which
    is only logged."""

    def __init__(self, message: str, code: str, *, detail: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.detail = detail


Progress = Callable[[str, float], Awaitable[None]]


@dataclass(frozen=True)
class JobContext:
    job: Job
    resources: Resources
    progress: Progress  # (stage, 0..1) — also extends the lease


class JobHandler(Protocol):
    async def run(self, context: JobContext) -> dict[str, Any] | None: ...

    async def on_failed(
        self, session: AsyncSession, job: Job, message: str, code: str
    ) -> Event | None:
        """Record the final failure on the job's subject (in the same transaction); the event
        returned is published once that transaction commits."""
        ...


_HANDLERS: dict[str, JobHandler] = {}


def register(job_type: str, handler: JobHandler) -> None:
    _HANDLERS[job_type] = handler


def handler_for(job_type: str) -> JobHandler:
    return _HANDLERS[job_type]


def job_types() -> tuple[str, ...]:
    return tuple(_HANDLERS)
