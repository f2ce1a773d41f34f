"""Enqueueing work: the one way a domain records a job.

    job = await enqueue(session, INGEST_JOB, Subject.of_document(document), ...)

The job is a row written in the caller's transaction; runners are woken once it commits, so
work is never dispatched for a transaction that rolls back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from lexbase.core import tracing
from lexbase.core.db import after_commit
from lexbase.core.resources import JOB_WAKE_INFO
from lexbase.jobs.models import Job
from lexbase.jobs.repository import JobRepository


@dataclass(frozen=True)
class Subject:
    """What a job works on: its kind and id, and the organization and matter it belongs to
    (walls apply to a job as to its subject)."""

    type: str
    id: str
    organization_id: str
    matter_id: str | None


async def enqueue(
    session: AsyncSession,
    job_type: str,
    subject: Subject,
    payload: dict[str, Any] | None = None,
    idempotency_key: str | None = None,
    *,
    max_attempts: int,
    created_by: str | None = None,
    input_hash: str | None = None,
    pipeline_version: str | None = None,
) -> Job:
    """Record a job in the caller's transaction. With `idempotency_key`, a queued or running
    job of the same type and key is returned instead of a new one (asking twice for the same
    work while it is pending queues it once)."""
    jobs = JobRepository(session)
    if idempotency_key is not None:
        pending = await jobs.unfinished_with_key(job_type, idempotency_key)
        if pending is not None:
            return pending
    job = await jobs.add(
        Job(
            organization_id=subject.organization_id,
            matter_id=subject.matter_id,
            subject_type=subject.type,
            subject_id=subject.id,
            type=job_type,
            payload=payload or {},
            idempotency_key=idempotency_key,
            max_attempts=max_attempts,
            created_by=created_by,
            input_hash=input_hash,
            pipeline_version=pipeline_version,
            traceparent=tracing.current_traceparent(),
        )
    )
    wake = session.sync_session.info.get(JOB_WAKE_INFO)
    if wake is not None:
        after_commit(session, wake)
    return job
