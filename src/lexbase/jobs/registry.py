"""Job types and their handlers. A domain registers a handler for each job type it owns."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
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


class TaskRegistry:
    """Which handler runs each job type. `lexbase.tasks` builds the one registry every
    process that runs jobs uses (the app, the embedded runner, Celery workers and their
    sweeper); the job engine receives it and never imports a domain."""

    def __init__(self, handlers: Mapping[str, JobHandler]) -> None:
        self._handlers = dict(handlers)

    def handler_for(self, job_type: str) -> JobHandler | None:
        return self._handlers.get(job_type)

    @property
    def types(self) -> tuple[str, ...]:
        return tuple(self._handlers)

    async def warm(self, resources: Resources) -> None:
        """Let each handler that has something to load before its first job (`warm`) load it
        now: a process that runs jobs calls this as it starts."""
        for handler in self._handlers.values():
            warm = getattr(handler, "warm", None)
            if warm is not None:
                await warm(resources)

    def with_handlers(self, handlers: Mapping[str, JobHandler]) -> TaskRegistry:
        """This registry plus (or with replaced) `handlers`."""
        return TaskRegistry({**self._handlers, **handlers})
