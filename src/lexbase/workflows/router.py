"""HTTP routes of workflows (API.md: Workflows)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response, status

from lexbase.auth.deps import OrganizationManager, Reader, Writer
from lexbase.core.deps import ResourcesDep, SessionDep
from lexbase.core.pagination import Page, PageDep
from lexbase.workflows.docx import report_docx
from lexbase.workflows.schemas import (
    CategoriesOut,
    ExecutionCreate,
    ExecutionOut,
    ReviewIn,
    TemplateCreate,
    TemplateOut,
)
from lexbase.workflows.service import WorkflowService

router = APIRouter(prefix="/workflows", tags=["workflows"])


async def workflow_service(session: SessionDep, resources: ResourcesDep) -> WorkflowService:
    return WorkflowService(session, resources)


Workflows = Annotated[WorkflowService, Depends(workflow_service)]
Status = Annotated[
    str | None,
    Query(pattern="^(queued|running|waiting_review|completed|failed|cancelled)$"),
]


@router.get("/templates", response_model=list[TemplateOut])
async def list_templates(principal: Reader, workflows: Workflows) -> list[TemplateOut]:
    """Built-in templates, then the organization's own."""
    return await workflows.list_templates(principal)


@router.get("/templates/{template_id}", response_model=TemplateOut)
async def get_template(template_id: str, principal: Reader, workflows: Workflows) -> TemplateOut:
    return await workflows.template(principal, template_id)


@router.post("/templates", response_model=TemplateOut, status_code=status.HTTP_201_CREATED)
async def create_template(
    body: TemplateCreate, principal: OrganizationManager, workflows: Workflows
) -> TemplateOut:
    """Admins add an organization template; a bad definition is a 422 naming the step and
    field."""
    return await workflows.create_template(principal, body)


@router.get("/categories", response_model=CategoriesOut)
async def categories(principal: Reader, workflows: Workflows) -> CategoriesOut:
    return CategoriesOut(categories=await workflows.categories(principal))


@router.get("/schema")
async def schema(principal: Reader) -> dict[str, Any]:
    """The JSON schema of a template's definition."""
    return WorkflowService.schema()


@router.post("/executions", response_model=ExecutionOut, status_code=status.HTTP_202_ACCEPTED)
async def start_execution(
    body: ExecutionCreate, principal: Writer, workflows: Workflows
) -> ExecutionOut:
    return await workflows.start(principal, body)


@router.get("/executions", response_model=Page[ExecutionOut])
async def list_executions(
    principal: Reader, workflows: Workflows, page: PageDep, status: Status = None
) -> Page[ExecutionOut]:
    """The caller's executions (an admin's: the organization's), newest first."""
    items, total = await workflows.list_executions(principal, status, page.limit, page.offset)
    return Page(items=items, total=total, next_cursor=page.next_cursor(total))


@router.get("/executions/{execution_id}", response_model=ExecutionOut)
async def get_execution(execution_id: str, principal: Reader, workflows: Workflows) -> ExecutionOut:
    return await workflows.get(principal, execution_id)


DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@router.get(
    "/executions/{execution_id}/report",
    response_class=Response,
    responses={200: {"content": {"text/markdown": {}, DOCX: {}}}},
)
async def execution_report(
    execution_id: str,
    principal: Reader,
    workflows: Workflows,
    export: Annotated[Literal["markdown", "docx"], Query(alias="format")] = "markdown",
) -> Response:
    """The execution's report as Markdown or a Word document (404 until it has one)."""
    report = await workflows.report(principal, execution_id)
    if export == "docx":
        return Response(
            report_docx(report),
            media_type=DOCX,
            headers={"Content-Disposition": 'attachment; filename="report.docx"'},
        )
    return Response(report["markdown"], media_type="text/markdown; charset=utf-8")


@router.post("/executions/{execution_id}/cancel", response_model=ExecutionOut)
async def cancel_execution(
    execution_id: str, principal: Writer, workflows: Workflows
) -> ExecutionOut:
    """Stops the execution before its next step; 409 when it has already finished."""
    return await workflows.cancel(principal, execution_id)


@router.post("/executions/{execution_id}/review", response_model=ExecutionOut)
async def review_execution(
    execution_id: str, body: ReviewIn, principal: Writer, workflows: Workflows
) -> ExecutionOut:
    """Approve (the execution goes on) or reject (it fails) the step waiting for review."""
    return await workflows.review(principal, execution_id, body)


@router.post("/executions/{execution_id}/steps/{name}/retry", response_model=ExecutionOut)
async def retry_step(
    execution_id: str, name: str, principal: Writer, workflows: Workflows
) -> ExecutionOut:
    """Run a failed step (and those after it) again; finished steps keep their outputs."""
    return await workflows.retry(principal, execution_id, name)
