"""The `run_workflow` job: an execution's steps, in order, each recorded as it finishes.

Every step starts from the stored state: steps already succeeded (or skipped) are not run
again, so a crash, a killed worker or a retry resumes at the first unfinished step. Before
each step the requester is read anew (role, session or key, active) and the step calls the
domain services as them, so a demotion, a sign-out or a wall raised mid-execution stops it.
A cancel is honoured between steps; a review step ends the job until someone decides.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

import structlog
from pydantic import TypeAdapter
from sqlalchemy.ext.asyncio import AsyncSession

from lexbase.analytics.service import counted_for_workflow
from lexbase.auth.deps import acting_for
from lexbase.core.db import transaction, utcnow
from lexbase.core.errors import LexbaseError, NotFound
from lexbase.core.events import Event
from lexbase.core.permissions import Permission
from lexbase.core.principal import Principal
from lexbase.core.resources import Resources
from lexbase.intelligence.deps import IntelligenceState
from lexbase.jobs.models import Job
from lexbase.jobs.registry import JobContext
from lexbase.search.deps import SearchState
from lexbase.workflows.definition import (
    ConditionStep,
    GenerateStep,
    MapStep,
    ReportStep,
    ReviewStep,
    Step,
)
from lexbase.workflows.generate import run_generate
from lexbase.workflows.models import (
    CANCELLED,
    COMPLETED,
    FAILED,
    FINISHED,
    PENDING,
    RUNNING,
    SKIPPED,
    SUCCEEDED,
    WAITING_REVIEW,
    WorkflowExecution,
    WorkflowStep,
)
from lexbase.workflows.repository import ExecutionRepository, StepRepository
from lexbase.workflows.service import WORKFLOW_JOB
from lexbase.workflows.steps import (
    Scope,
    StepRefused,
    holds,
    run_leaf,
    run_map,
    run_report,
)

__all__ = ["WORKFLOW_JOB", "RunWorkflow", "WorkflowState"]

log = structlog.get_logger(__name__)
T = TypeVar("T")

REQUESTER_GONE = "requester_unauthorized"
REQUESTER_MESSAGE = "The person who started this workflow may no longer run it"
STEP: TypeAdapter[Any] = TypeAdapter(Step)
STEP_REFUSED = "step_failed"


class WorkflowState:
    """What steps need beyond the database: document intelligence's and search's states —
    the app's, or a worker's own, opened on its first execution."""

    def __init__(
        self, intelligence: IntelligenceState | None = None, search: SearchState | None = None
    ) -> None:
        self.intelligence = intelligence
        self.search = search
        self._lock = asyncio.Lock()

    async def ready(self, resources: Resources) -> tuple[IntelligenceState, SearchState]:
        async with self._lock:
            if self.intelligence is None:
                self.intelligence = IntelligenceState.open(resources.settings)
            if self.search is None:
                self.search = SearchState.create(resources.settings)
        return self.intelligence, self.search


@dataclass(frozen=True)
class Done:
    """A step's outcome, to be recorded with the start of the next one."""

    step_id: str
    output: Any
    skip: list[str]
    position: tuple[int, int]  # (index, count of steps)


@dataclass
class _Next:
    """What the transaction that records one step and starts the next decided."""

    events: list[Event] = field(default_factory=list)
    step: WorkflowStep | None = None  # the step to run now, if any
    spec: Any = None
    principal: Principal | None = None
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    position: tuple[int, int] = (0, 0)


class RunWorkflow:
    def __init__(self, state: WorkflowState | None = None) -> None:
        self.state = state or WorkflowState()

    async def run(self, context: JobContext) -> dict[str, Any] | None:
        execution_id = context.job.subject_id
        assert execution_id is not None
        done: Done | None = None
        while True:
            done = await self.advance(context, execution_id, done)
            if done is None:
                return None

    async def on_failed(
        self, session: AsyncSession, job: Job, message: str, code: str
    ) -> Event | None:
        """Out of attempts: the execution fails with the job's reason (its finished steps'
        outputs kept; the failed step can be retried alone)."""
        execution = await ExecutionRepository(session).locked(job.subject_id or "")
        if execution is None or execution.status in FINISHED:
            return None
        for step in await StepRepository(session).of_execution(execution.id):
            if step.status == RUNNING:
                step.status, step.error, step.finished_at = FAILED, message, utcnow()
        _finish(execution, FAILED, message, code)
        return _event(execution, None)

    async def advance(
        self, context: JobContext, execution_id: str, done: Done | None
    ) -> Done | None:
        """Record `done` and start the first unfinished step in one transaction, then run
        that step; its outcome, or None when there is nothing (more) to run now."""
        resources = context.resources
        async with transaction(resources.write_sessionmaker) as session:
            found = await _record_and_start(session, execution_id, done)
        for event in found.events:
            await resources.events.publish(event)
        step, spec, principal, position = found.step, found.spec, found.principal, found.position
        if step is None:
            return None
        assert principal is not None
        intelligence, search = await self.state.ready(resources)

        async def progress(stage: str, fraction: float) -> None:
            fraction = (position[0] + min(max(fraction, 0.0), 1.0)) / position[1]
            await context.progress(f"{spec.name}:{stage}", fraction)

        scope = Scope(
            principal, resources, intelligence, search, found.inputs, found.outputs, progress
        )
        try:
            with counted_for_workflow(execution_id):
                ran = await _unless_cancelled(resources, execution_id, _run(spec, scope))
            if ran is None:  # cancelled while it ran: the model call is interrupted
                await self._cancelled(resources, execution_id, step.id)
                return None
            output, skip = ran
        except (StepRefused, NotFound) as exc:
            message = str(exc) if isinstance(exc, StepRefused) else exc.message
            await self._fail(resources, execution_id, step.id, STEP_REFUSED, message)
            return None
        except LexbaseError as exc:
            if exc.status_code >= 500:  # a model or service away: the job retries the step
                raise
            await self._fail(resources, execution_id, step.id, STEP_REFUSED, exc.message)
            return None
        log.info("workflow.step_done", execution_id=execution_id, step=step.name)
        return Done(step.id, output, skip, position)

    async def _cancelled(self, resources: Resources, execution_id: str, step_id: str) -> None:
        async with transaction(resources.write_sessionmaker) as session:
            execution = await ExecutionRepository(session).locked(execution_id)
            if execution is None:
                return
            stopped = None
            for step in await StepRepository(session).of_execution(execution_id):
                if step.id == step_id:
                    step.status, step.error = CANCELLED, "Cancelled while it ran"
                    step.finished_at, stopped = utcnow(), step
            _finish(execution, CANCELLED)
            event = _event(execution, stopped)
        await resources.events.publish(event)
        log.info("workflow.cancelled", execution_id=execution_id, step=stopped and stopped.name)

    async def _fail(
        self, resources: Resources, execution_id: str, step_id: str, code: str, message: str
    ) -> None:
        async with transaction(resources.write_sessionmaker) as session:
            execution = await ExecutionRepository(session).locked(execution_id)
            if execution is None:
                return
            failed = None
            for step in await StepRepository(session).of_execution(execution_id):
                if step.id == step_id:
                    step.status, step.error, step.finished_at = FAILED, message, utcnow()
                    failed = step
            _finish(execution, FAILED, f"Step failed: {message}", code)
            event = _event(execution, failed)
        await resources.events.publish(event)
        log.info("workflow.failed", execution_id=execution_id, code=code)


async def _record_and_start(session: AsyncSession, execution_id: str, done: Done | None) -> _Next:
    found = _Next()
    execution = await ExecutionRepository(session).locked(execution_id)
    if execution is None or execution.status in FINISHED:
        return found
    steps = await StepRepository(session).of_execution(execution_id)
    if done is not None:
        found.events.append(_record(execution, steps, done))
    if execution.status == WAITING_REVIEW:
        return found
    step = next((s for s in steps if s.status not in (SUCCEEDED, SKIPPED)), None)
    # The requester as they stand now, read in this same transaction.
    principal = await acting_for(session, execution.requested_by, Permission.WRITE)
    if execution.cancel_requested or step is None:
        _finish(execution, CANCELLED if execution.cancel_requested else COMPLETED)
        found.events.append(_event(execution, None))
        return found
    if principal is None:
        step.status, step.error, step.finished_at = FAILED, REQUESTER_MESSAGE, utcnow()
        _finish(execution, FAILED, f"Step failed: {REQUESTER_MESSAGE}", REQUESTER_GONE)
        found.events.append(_event(execution, step))
        return found
    index = steps.index(step)
    spec = STEP.validate_python(execution.definition["steps"][index])
    if isinstance(spec, ReviewStep):  # the job ends here; a decision queues the next one
        step.status, execution.status = WAITING_REVIEW, WAITING_REVIEW
        found.events.append(_event(execution, step))
        return found
    step.status, step.attempts = RUNNING, step.attempts + 1
    step.started_at, step.error = utcnow(), None
    execution.status = RUNNING
    execution.started_at = execution.started_at or utcnow()
    found.step, found.spec, found.principal = step, spec, principal
    found.inputs = dict(execution.input)
    found.outputs = {s.name: s.output for s in steps if s.status == SUCCEEDED}
    found.position = (index, len(steps))
    return found


def _record(execution: WorkflowExecution, steps: list[WorkflowStep], done: Done) -> Event:
    """A step's success, and the later steps it skips."""
    finished = None
    for step in steps:
        if step.id == done.step_id:
            step.status, step.output, step.finished_at = SUCCEEDED, done.output, utcnow()
            finished = step
        elif step.name in done.skip and step.status == PENDING:
            step.status, step.finished_at = SKIPPED, utcnow()
    output = done.output
    if isinstance(output, dict) and "markdown" in output and "citations" in output:
        execution.report = output
    execution.progress = round((done.position[0] + 1) / done.position[1], 4)
    return _event(execution, finished)


async def _unless_cancelled(
    resources: Resources, execution_id: str, work: Coroutine[Any, Any, T]
) -> T | None:
    """`work`'s result, or None when the execution's cancel is asked for meanwhile (then
    `work` — a model call, say — is cancelled at once instead of run to its end)."""
    task = asyncio.create_task(work)
    interval = max(resources.settings.job_poll_seconds, 0.2)
    try:
        while True:
            finished, _ = await asyncio.wait({task}, timeout=interval)
            if finished:
                return task.result()
            async with transaction(resources.sessionmaker) as session:
                if await ExecutionRepository(session).cancel_asked(execution_id):
                    task.cancel()
                    await asyncio.gather(task, return_exceptions=True)
                    return None
    finally:
        if not task.done():  # the job itself is stopping
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


async def _run(spec: Any, scope: Scope) -> tuple[Any, list[str]]:
    """The step's output, and the later steps it says to skip."""
    if isinstance(spec, ConditionStep):
        holding = holds(spec, scope)
        return {"holds": holding}, [] if holding else list(spec.otherwise_skip)
    if isinstance(spec, MapStep):
        return await run_map(spec, scope), []
    if isinstance(spec, ReportStep):
        return run_report(spec, scope), []
    if isinstance(spec, GenerateStep):
        return await run_generate(spec, scope), []
    return await run_leaf(spec, scope), []


def _finish(
    execution: WorkflowExecution, status: str, error: str | None = None, code: str | None = None
) -> None:
    execution.status, execution.finished_at = status, utcnow()
    execution.error, execution.error_code = error, code
    if status == COMPLETED:
        execution.progress = 1.0


def _event(execution: WorkflowExecution, step: WorkflowStep | None) -> Event:
    return Event(
        "workflow.step",
        execution.organization_id,
        execution.matter_id,
        {
            "execution_id": execution.id,
            "status": execution.status,
            "progress": execution.progress,
            "step": None if step is None else {"name": step.name, "status": step.status},
        },
    )
