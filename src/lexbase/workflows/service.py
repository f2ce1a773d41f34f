"""Workflow templates and executions: the checks of who may start, see, stop, approve and
retry, and the records the engine (`tasks.py`) works from. One transaction per request
(`SessionDep`); the execution's job is enqueued in it and dispatched once it commits."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from lexbase.analytics.models import WORKFLOW_RUN
from lexbase.analytics.service import counted_for_workflow, record_usage
from lexbase.audit.service import record
from lexbase.core.db import utcnow
from lexbase.core.pagination import PageParams
from lexbase.core.permissions import Role
from lexbase.core.principal import Principal
from lexbase.core.resources import Resources
from lexbase.documents.service import DocumentService
from lexbase.jobs.service import Subject, enqueue
from lexbase.matters.errors import MatterNotFound
from lexbase.matters.service import get_matter
from lexbase.workflows.definition import Definition, definition_schema
from lexbase.workflows.errors import (
    AlreadyFinished,
    BadInput,
    ExecutionNotFound,
    NotRetryable,
    NotWaitingForReview,
    ReportNotFound,
    ReviewerRoleTooLow,
    StepNotFound,
    TemplateNotFound,
)
from lexbase.workflows.models import (
    CANCELLED,
    FAILED,
    FINISHED,
    PENDING,
    QUEUED,
    SUCCEEDED,
    WAITING_REVIEW,
    WorkflowExecution,
    WorkflowStep,
    WorkflowTemplate,
)
from lexbase.workflows.repository import ExecutionRepository, StepRepository, TemplateRepository
from lexbase.workflows.schemas import (
    ExecutionCreate,
    ExecutionOut,
    ReviewIn,
    StepOut,
    TemplateCreate,
    TemplateOut,
)
from lexbase.workflows.templates import BUILTIN_PREFIX, BUILTINS, BY_ID, Builtin

WORKFLOW_JOB = "run_workflow"
EXECUTION_SUBJECT = "workflow_execution"
MAX_DOCUMENTS = 100
MAX_REVIEWS = 200  # executions waiting for review listed to a reviewer
# Who may approve a review step asking for `role`: that role or a higher one.
RANK = {Role.VIEWER: 0, Role.PARALEGAL: 1, Role.ATTORNEY: 2, Role.ADMIN: 3}


class WorkflowService:
    def __init__(self, session: AsyncSession, resources: Resources) -> None:
        self.session = session
        self.resources = resources
        self.templates = TemplateRepository(session)
        self.executions = ExecutionRepository(session)
        self.steps = StepRepository(session)

    # Templates

    async def list_templates(self, principal: Principal) -> list[TemplateOut]:
        own = await self.templates.of_organization(principal)
        return [*(_builtin_out(b) for b in BUILTINS), *(_template_out(t) for t in own)]

    async def template(self, principal: Principal, template_id: str) -> TemplateOut:
        if template_id.startswith(BUILTIN_PREFIX):
            builtin = BY_ID.get(template_id)
            if builtin is None:
                raise TemplateNotFound()
            return _builtin_out(builtin)
        found = await self.templates.get_for(principal, template_id)
        if found is None:
            raise TemplateNotFound()
        return _template_out(found)

    async def categories(self, principal: Principal) -> list[str]:
        return sorted({t.category for t in await self.list_templates(principal)})

    @staticmethod
    def schema() -> dict[str, Any]:
        return definition_schema()

    async def create_template(self, principal: Principal, data: TemplateCreate) -> TemplateOut:
        template = await self.templates.add(
            WorkflowTemplate(
                organization_id=principal.organization_id,
                name=data.name,
                description=data.description,
                category=data.category,
                definition=data.definition.model_dump(mode="json"),
                created_by=principal.user_id,
            )
        )
        await record(
            self.session,
            "workflow.template_created",
            principal,
            resource=("workflow_template", template.id),
            details={"name": data.name, "steps": len(data.definition.steps)},
        )
        return _template_out(template)

    # Executions

    async def start(self, principal: Principal, data: ExecutionCreate) -> ExecutionOut:
        template = await self.template(principal, data.template_id)
        definition = template.definition
        matter_id, given = await self._checked_input(principal, definition, data.input)
        execution = await self.executions.add(
            WorkflowExecution(
                organization_id=principal.organization_id,
                matter_id=matter_id,
                template_id=template.id,
                template_name=template.name,
                definition=definition.model_dump(mode="json"),
                input=given,
                requested_by=principal.as_requester(),
                created_by=principal.user_id,
            )
        )
        for ordinal, step in enumerate(definition.steps):
            await self.steps.add(
                WorkflowStep(
                    execution_id=execution.id, ordinal=ordinal, name=step.name, type=step.type
                )
            )
        await self._enqueue(execution)
        with counted_for_workflow(execution.id):
            await record_usage(
                self.session, principal.organization_id, principal.user_id, WORKFLOW_RUN
            )
        await record(
            self.session,
            "workflow.started",
            principal,
            resource=("workflow_execution", execution.id),
            details={"template_id": template.id},
        )
        return await self._out(execution)

    async def _checked_input(
        self, principal: Principal, definition: Definition, given: dict[str, Any]
    ) -> tuple[str | None, dict[str, Any]]:
        """Refuse input the template does not declare or that names what the caller cannot
        see (422 naming the field); the matter the execution belongs to, if one, and the
        input with documents filled from a matter where the template says so."""
        unknown = sorted(set(given) - set(definition.inputs))
        if unknown:
            raise BadInput(unknown[0], "the template has no such input")
        documents = DocumentService(self.session, self.resources)
        given = dict(given)
        for name, spec in definition.inputs.items():
            if spec.from_matter is None or given.get(name) is not None:
                continue
            matter_id = given.get(spec.from_matter)
            if matter_id is None:
                raise BadInput(name, f"name documents, or a matter as {spec.from_matter}")
            given[name] = await self._documents_of(principal, spec.from_matter, matter_id)
        matters: set[str | None] = set()
        for name, spec in definition.inputs.items():
            value = given.get(name)
            if value is None:
                if spec.required:
                    raise BadInput(name, "required")
                continue
            if spec.type in ("document", "documents"):
                ids = [value] if spec.type == "document" else value
                if not isinstance(ids, list) or not ids or len(ids) > MAX_DOCUMENTS:
                    raise BadInput(name, f"a list of 1 to {MAX_DOCUMENTS} document ids")
                if not all(isinstance(i, str) for i in ids) or await documents.visible_ids(
                    principal, ids
                ) != set(ids):
                    raise BadInput(name, "a document that does not exist or is not visible")
                for document_id in ids:
                    matters.add((await documents.get(principal, document_id)).matter_id)
            elif spec.type == "matter":
                try:
                    await get_matter(self.session, principal, str(value))
                except MatterNotFound:
                    raise BadInput(name, "a matter that does not exist or is not visible") from None
                matters.add(str(value))
            elif spec.type == "integer" and not (isinstance(value, int) and value >= 0):
                raise BadInput(name, "a whole number")
            elif spec.type == "string" and not (isinstance(value, str) and value.strip()):
                raise BadInput(name, "a non-empty string")
        return (matters.pop() if len(matters) == 1 else None), given

    async def _documents_of(self, principal: Principal, field: str, matter_id: Any) -> list[str]:
        """The indexed documents of a matter the caller may see (up to the limit)."""
        try:
            await get_matter(self.session, principal, str(matter_id))
        except MatterNotFound:
            raise BadInput(field, "a matter that does not exist or is not visible") from None
        listed, _ = await DocumentService(self.session, self.resources).list(
            principal,
            PageParams(limit=MAX_DOCUMENTS, offset=0),
            matter_id=str(matter_id),
            status="indexed",
        )
        if not listed:
            raise BadInput(field, "the matter has no indexed documents")
        return [document.id for document in listed]

    async def _enqueue(self, execution: WorkflowExecution) -> None:
        await enqueue(
            self.session,
            WORKFLOW_JOB,
            Subject(
                EXECUTION_SUBJECT, execution.id, execution.organization_id, execution.matter_id
            ),
            idempotency_key=f"workflow:{execution.id}",
            max_attempts=self.resources.settings.job_max_attempts,
            created_by=execution.created_by,
        )

    async def list_executions(
        self, principal: Principal, status: str | None, limit: int, offset: int
    ) -> tuple[list[ExecutionOut], int]:
        """The caller's executions (an admin's: the organization's); with
        `status=waiting_review`, also those waiting for a review the caller may give."""
        if status == WAITING_REVIEW and not principal.is_admin:
            waiting = [
                e
                for e in await self.executions.waiting_in_scope(principal, MAX_REVIEWS)
                if e.created_by == principal.user_id or await self._may_review(principal, e)
            ]
            return [await self._out(e) for e in waiting[offset : offset + limit]], len(waiting)
        rows, total = await self.executions.paginate(
            self.executions.listed(principal, status), limit=limit, offset=offset
        )
        return [await self._out(row) for row in rows], total

    async def get(self, principal: Principal, execution_id: str) -> ExecutionOut:
        """One's own (an admin: any), or one waiting for a review the caller may give."""
        execution = await self.executions.get_for(principal, execution_id)
        if execution is None:
            execution = await self.executions.get_in_scope(principal, execution_id)
            if execution is None or not await self._may_review(principal, execution):
                raise ExecutionNotFound()
        return await self._out(execution)

    async def _may_review(self, principal: Principal, execution: WorkflowExecution) -> bool:
        if execution.status != WAITING_REVIEW:
            return False
        waiting = [
            s for s in await self.steps.of_execution(execution.id) if s.status == WAITING_REVIEW
        ]
        return (
            bool(waiting) and RANK[principal.role] >= RANK[_review_role(execution, waiting[0].name)]
        )

    async def report(self, principal: Principal, execution_id: str) -> dict[str, Any]:
        execution = await self._visible(principal, execution_id)
        if execution.report is None:
            raise ReportNotFound()
        return execution.report

    async def cancel(self, principal: Principal, execution_id: str) -> ExecutionOut:
        """Queued or waiting: cancelled now. Running: stopped before its next step."""
        execution = await self._visible(principal, execution_id, lock=True)
        if execution.status in FINISHED:
            raise AlreadyFinished()
        execution.cancel_requested = True
        if execution.status in (QUEUED, WAITING_REVIEW):
            execution.status = CANCELLED
            execution.finished_at = utcnow()
        await record(
            self.session,
            "workflow.cancelled",
            principal,
            resource=("workflow_execution", execution.id),
        )
        return await self._out(execution)

    async def review(
        self, principal: Principal, execution_id: str, decision: ReviewIn
    ) -> ExecutionOut:
        execution = await self._visible_to_reviewer(principal, execution_id)
        if execution.status != WAITING_REVIEW:
            raise NotWaitingForReview()
        step = next(
            s for s in await self.steps.of_execution(execution.id) if s.status == WAITING_REVIEW
        )
        wanted = _review_role(execution, step.name)
        if RANK[principal.role] < RANK[wanted]:
            raise ReviewerRoleTooLow()
        step.review = {
            "approve": decision.approve,
            "comment": decision.comment,
            "user_id": principal.user_id,
            "at": utcnow().isoformat(),
        }
        step.finished_at = utcnow()
        if decision.approve:
            step.status = SUCCEEDED
            step.output = {"approved": True, "comment": decision.comment}
            execution.status = QUEUED
            await self._enqueue(execution)
        else:
            step.status = FAILED
            step.error = "Rejected by the reviewer"
            execution.status = FAILED
            execution.error = "A reviewer rejected the step"
            execution.error_code = "review_rejected"
            execution.finished_at = utcnow()
        await record(
            self.session,
            "workflow.reviewed",
            principal,
            resource=("workflow_execution", execution.id),
            details={"step": step.name, "approve": decision.approve},
        )
        return await self._out(execution)

    async def retry(self, principal: Principal, execution_id: str, name: str) -> ExecutionOut:
        execution = await self._visible(principal, execution_id, lock=True)
        step = next(
            (s for s in await self.steps.of_execution(execution.id) if s.name == name), None
        )
        if step is None:
            raise StepNotFound()
        if execution.status != FAILED or step.status != FAILED or step.type == "review":
            raise NotRetryable()
        step.status, step.error, step.attempts = PENDING, None, 0
        step.started_at = step.finished_at = None
        execution.status, execution.error, execution.error_code = QUEUED, None, None
        execution.finished_at = None
        await self._enqueue(execution)
        return await self._out(execution)

    async def _visible(
        self, principal: Principal, execution_id: str, *, lock: bool = False
    ) -> WorkflowExecution:
        execution = await self.executions.get_for(principal, execution_id)
        if execution is None:
            raise ExecutionNotFound()
        if lock:
            locked = await self.executions.locked(execution.id)
            assert locked is not None
            return locked
        return execution

    async def _visible_to_reviewer(
        self, principal: Principal, execution_id: str
    ) -> WorkflowExecution:
        """A reviewer need not have started the execution: any member of the organization
        who can see its matter may find it, and the step's role decides who may decide."""
        execution = await self.executions.get_in_scope(principal, execution_id)
        if execution is None:
            raise ExecutionNotFound()
        locked = await self.executions.locked(execution.id)
        assert locked is not None
        return locked

    async def _out(self, execution: WorkflowExecution) -> ExecutionOut:
        steps = await self.steps.of_execution(execution.id)
        return execution_out(execution, steps)


async def executions_between(
    session: AsyncSession, principal: Principal, since: datetime, until: datetime
) -> list[WorkflowExecution]:
    """The executions started in [since, until) that the caller may see (an admin: the
    organization's)."""
    return await ExecutionRepository(session).started_between(principal, since, until)


def execution_out(execution: WorkflowExecution, steps: list[WorkflowStep]) -> ExecutionOut:
    return ExecutionOut(
        id=execution.id,
        template_id=execution.template_id,
        template_name=execution.template_name,
        status=execution.status,
        progress=execution.progress,
        input=execution.input,
        matter_id=execution.matter_id,
        cancel_requested=execution.cancel_requested,
        error=execution.error,
        error_code=execution.error_code,
        steps=[StepOut.model_validate(s) for s in steps],
        report=execution.report,
        created_by=execution.created_by,
        created_at=execution.created_at,
        started_at=execution.started_at,
        finished_at=execution.finished_at,
    )


def _review_role(execution: WorkflowExecution, step_name: str) -> Role:
    definition = Definition.model_validate(execution.definition)
    [step] = [s for s in definition.steps if s.name == step_name]
    return Role(getattr(step, "role", Role.ATTORNEY.value))


def _builtin_out(builtin: Builtin) -> TemplateOut:
    return TemplateOut(
        id=builtin.id,
        name=builtin.name,
        description=builtin.description,
        category=builtin.category,
        builtin=True,
        definition=builtin.definition,
    )


def _template_out(template: WorkflowTemplate) -> TemplateOut:
    return TemplateOut(
        id=template.id,
        name=template.name,
        description=template.description,
        category=template.category,
        builtin=False,
        definition=Definition.model_validate(template.definition),
    )
