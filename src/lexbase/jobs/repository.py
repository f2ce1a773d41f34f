"""All SQL of jobs: enqueue, claim with a lease, heartbeat, finish, and reap expired leases."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select, update

from lexbase.core.db import utcnow
from lexbase.core.principal import Principal
from lexbase.core.scope import ScopedRepository
from lexbase.jobs.models import FAILED, QUEUED, RUNNING, SUCCEEDED, IdempotencyKey, Job


class JobRepository(ScopedRepository[Job]):
    model = Job

    async def claim(self, owner: str, lease: timedelta, job_id: str | None = None) -> Job | None:
        """Atomically take the oldest due job (or exactly `job_id`, if it is due): exactly one
        worker can win each job."""
        now = utcnow()
        candidate = (
            select(Job.id)
            .where(Job.status == QUEUED, Job.run_after <= now)
            .order_by(Job.run_after, Job.created_at)
            .limit(1)
        )
        if job_id is not None:
            candidate = candidate.where(Job.id == job_id)
        if self.session.get_bind().dialect.name == "postgresql":
            candidate = candidate.with_for_update(skip_locked=True)
        job_id = (await self.session.execute(candidate)).scalar_one_or_none()
        if job_id is None:
            return None
        result = await self.session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == QUEUED)
            .values(
                status=RUNNING,
                attempts=Job.attempts + 1,
                lease_owner=owner,
                lease_until=now + lease,
                started_at=func.coalesce(Job.started_at, now),
                error=None,
                error_code=None,
            )
            .returning(Job.id)
        )
        if result.scalar_one_or_none() is None:
            return None
        return await self.session.get(Job, job_id, populate_existing=True)

    async def heartbeat(self, job_id: str, owner: str, lease: timedelta, **values: Any) -> bool:
        """Extend the lease (and record stage/progress); False if the job is no longer ours."""
        result = await self.session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == RUNNING, Job.lease_owner == owner)
            .values(lease_until=utcnow() + lease, **values)
        )
        return int(getattr(result, "rowcount", 0) or 0) == 1

    async def record_provenance(
        self, job_id: str, owner: str, *, provenance: dict[str, Any], timings: dict[str, float]
    ) -> bool:
        """Store what produced the job's output (library and model versions, stage timings),
        while it still holds its lease."""
        result = await self.session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == RUNNING, Job.lease_owner == owner)
            .values(provenance=provenance, timings=timings)
        )
        return int(getattr(result, "rowcount", 0) or 0) == 1

    async def finish(self, job_id: str, owner: str, **values: Any) -> bool:
        result = await self.session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == RUNNING, Job.lease_owner == owner)
            .values(lease_until=None, lease_owner=None, **values)
        )
        return int(getattr(result, "rowcount", 0) or 0) == 1

    async def due_ids(self, limit: int) -> list[str]:
        """Queued jobs whose time has come, oldest first."""
        statement = (
            select(Job.id)
            .where(Job.status == QUEUED, Job.run_after <= utcnow())
            .order_by(Job.run_after, Job.created_at)
            .limit(limit)
        )
        return list((await self.session.execute(statement)).scalars().all())

    async def expired(self, now: datetime) -> list[Job]:
        statement = select(Job).where(Job.status == RUNNING, Job.lease_until < now).limit(100)
        return list((await self.session.execute(statement)).scalars().all())

    async def requeue_expired(self, job_id: str, now: datetime, run_after: datetime) -> bool:
        result = await self.session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == RUNNING, Job.lease_until < now)
            .values(status=QUEUED, lease_owner=None, lease_until=None, run_after=run_after)
        )
        return int(getattr(result, "rowcount", 0) or 0) == 1

    async def fail_expired(self, job_id: str, now: datetime, error: str) -> bool:
        result = await self.session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == RUNNING, Job.lease_until < now)
            .values(
                status=FAILED,
                lease_owner=None,
                lease_until=None,
                finished_at=now,
                error=error,
                error_code="worker_lost",
            )
        )
        return int(getattr(result, "rowcount", 0) or 0) == 1

    def filtered(
        self,
        principal: Principal,
        *,
        status: str | None = None,
        type_: str | None = None,
        document_id: str | None = None,
    ) -> Select[Job]:
        statement = self.statement_for(principal).order_by(Job.created_at.desc(), Job.id)
        if status is not None:
            statement = statement.where(Job.status == status)
        if type_ is not None:
            statement = statement.where(Job.type == type_)
        if document_id is not None:
            statement = statement.where(Job.of_document(document_id))
        return statement

    async def matter_of(self, job_id: str) -> str | None:
        matter_id: str | None = await self.session.scalar(
            select(Job.matter_id).where(Job.id == job_id)
        )
        return matter_id

    async def unfinished_with_key(self, job_type: str, idempotency_key: str) -> Job | None:
        """A queued or running job of this type enqueued with this key, if there is one."""
        statement = (
            select(Job)
            .where(
                Job.type == job_type,
                Job.idempotency_key == idempotency_key,
                Job.status.in_((QUEUED, RUNNING)),
            )
            .order_by(Job.created_at.desc())
            .limit(1)
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def latest_for_document(self, document_id: str, job_type: str) -> Job | None:
        statement = (
            select(Job)
            .where(Job.of_document(document_id), Job.type == job_type)
            .order_by(Job.created_at.desc())
            .limit(1)
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def count_by_status(self) -> dict[str, int]:
        statement = select(Job.status, func.count()).group_by(Job.status)
        return {status: int(n) for status, n in (await self.session.execute(statement)).all()}

    async def types_in_use(self) -> list[str]:
        """The types of queued and running jobs."""
        statement = select(Job.type).where(Job.status.in_((QUEUED, RUNNING))).distinct()
        return list((await self.session.execute(statement)).scalars().all())

    async def unfinished_count(self, organization_id: str | None = None) -> int:
        """Queued and running jobs: of one organization, or of the whole server."""
        statement = select(func.count()).where(Job.status.in_((QUEUED, RUNNING)))
        if organization_id is not None:
            statement = statement.where(Job.organization_id == organization_id)
        return int((await self.session.execute(statement)).scalar_one())

    async def oldest_due_at(self, organization_id: str | None = None) -> datetime | None:
        """Since when the longest-waiting queued job has been due (None: none is waiting), of
        one organization or of the server. A job waiting out its retry backoff is not due yet,
        so it does not count."""
        statement = select(func.min(Job.run_after)).where(
            Job.status == QUEUED, Job.run_after <= utcnow()
        )
        if organization_id is not None:
            statement = statement.where(Job.organization_id == organization_id)
        oldest: datetime | None = (await self.session.execute(statement)).scalar_one()
        return oldest


class IdempotencyRepository:
    def __init__(self, session: Any) -> None:
        self.session = session

    async def get(self, organization_id: str, user_id: str, key: str) -> IdempotencyKey | None:
        found: IdempotencyKey | None = await self.session.get(
            IdempotencyKey, (organization_id, user_id, key)
        )
        return found

    async def put(self, record: IdempotencyKey) -> None:
        """Store the key's first result (replacing a stale one whose result is gone)."""
        await self.session.merge(record)
        await self.session.flush()


__all__ = ["SUCCEEDED", "IdempotencyRepository", "JobRepository"]
