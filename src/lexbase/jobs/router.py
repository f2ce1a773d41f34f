"""HTTP routes for background jobs (scoped like the documents they work on)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from lexbase.auth.deps import Reader
from lexbase.core.deps import SessionDep
from lexbase.core.pagination import Page, PageDep
from lexbase.jobs.errors import JobNotFound
from lexbase.jobs.repository import JobRepository
from lexbase.jobs.schemas import JobOut

router = APIRouter(prefix="/jobs", tags=["jobs"])

JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]


@router.get("", response_model=Page[JobOut])
async def list_jobs(
    principal: Reader,
    session: SessionDep,
    page: PageDep,
    status: JobStatus | None = None,
    type: Annotated[str | None, Query(max_length=50)] = None,
    document_id: Annotated[str | None, Query(max_length=36)] = None,
) -> Page[JobOut]:
    repository = JobRepository(session)
    statement = repository.filtered(principal, status=status, type_=type, document_id=document_id)
    items, total = await repository.paginate(statement, limit=page.limit, offset=page.offset)
    return Page(
        items=[JobOut.model_validate(j) for j in items],
        total=total,
        next_cursor=page.next_cursor(total),
    )


@router.get("/{job_id}", response_model=JobOut)
async def get_job(job_id: str, principal: Reader, session: SessionDep) -> JobOut:
    job = await JobRepository(session).get_for(principal, job_id)
    if job is None:
        raise JobNotFound()
    return JobOut.model_validate(job)
