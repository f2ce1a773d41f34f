"""The `rollup_usage` job (one per organization with pending usage events), and the loop
that queues it every `LEXBASE_USAGE_ROLLUP_SECONDS` from each API process (a job already
pending for an organization is not queued again)."""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from lexbase.analytics.repository import UsageRepository
from lexbase.analytics.rollup import BATCH, roll_up_batch
from lexbase.core.db import DATABASE_ERRORS, transaction
from lexbase.core.events import Event
from lexbase.core.resources import Resources
from lexbase.jobs.models import Job
from lexbase.jobs.registry import JobContext
from lexbase.jobs.service import Subject, enqueue

log = structlog.get_logger(__name__)

ROLLUP_JOB = "rollup_usage"
ORGANIZATION_SUBJECT = "organization"


class RollupUsage:
    async def run(self, context: JobContext) -> dict[str, Any] | None:
        organization_id = context.job.organization_id
        rolled = 0
        while True:
            async with transaction(context.resources.write_sessionmaker) as session:
                done = await roll_up_batch(session, organization_id)
            rolled += done
            if done < BATCH:
                break
            await context.progress("rollup", 0.5)
        log.info("usage.rolled_up", organization_id=organization_id, events=rolled)
        # No counts in the result: every member may read the job, and the organization's
        # activity (walled matters' included) is for its admins' reports.
        return None

    async def on_failed(
        self, session: AsyncSession, job: Job, message: str, code: str
    ) -> Event | None:
        return None


async def queue_rollups(resources: Resources) -> int:
    """Queue a rollup for each organization with pending events; how many were queued."""
    async with transaction(resources.sessionmaker) as session:
        organizations = await UsageRepository(session).organizations_pending()
    async with transaction(resources.write_sessionmaker) as session:
        for organization_id in organizations:
            await enqueue(
                session,
                ROLLUP_JOB,
                Subject(ORGANIZATION_SUBJECT, organization_id, organization_id, None),
                idempotency_key=f"usage-rollup:{organization_id}",
                max_attempts=resources.settings.job_max_attempts,
            )
    return len(organizations)


async def run_rollups(resources: Resources) -> None:
    """The periodic loop, for the lifespan to run and cancel."""
    while True:
        await asyncio.sleep(resources.settings.usage_rollup_seconds)
        try:
            await queue_rollups(resources)
        except DATABASE_ERRORS:  # the database is away: next time
            log.warning("usage.rollup_not_queued")
