"""All SQL of workflows. Executions are read through the caller's scope (organization and
walls) and, but for admins, only by the user who started them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, select

from lexbase.core.principal import Principal
from lexbase.core.repository import Repository
from lexbase.core.scope import ScopedRepository
from lexbase.workflows.models import WorkflowExecution, WorkflowStep, WorkflowTemplate


class TemplateRepository(ScopedRepository[WorkflowTemplate]):
    model = WorkflowTemplate

    async def of_organization(self, principal: Principal) -> list[WorkflowTemplate]:
        statement = self.statement_for(principal).order_by(WorkflowTemplate.name)
        return list((await self.session.execute(statement)).scalars())


class ExecutionRepository(ScopedRepository[WorkflowExecution]):
    model = WorkflowExecution

    def statement_for(self, principal: Principal) -> Select[WorkflowExecution]:
        statement = super().statement_for(principal)
        if not principal.is_admin:
            statement = statement.where(WorkflowExecution.created_by == principal.user_id)
        return statement

    async def get_in_scope(
        self, principal: Principal, execution_id: str
    ) -> WorkflowExecution | None:
        """Through the organization and walls only (a reviewer's view: not just one's own)."""
        statement = super().statement_for(principal).where(WorkflowExecution.id == execution_id)
        return await self.get_one_or_none(statement)

    def listed(self, principal: Principal, status: str | None) -> Select[WorkflowExecution]:
        statement = self.statement_for(principal).order_by(
            WorkflowExecution.created_at.desc(), WorkflowExecution.id
        )
        if status is not None:
            statement = statement.where(WorkflowExecution.status == status)
        return statement

    async def waiting_in_scope(self, principal: Principal, limit: int) -> list[WorkflowExecution]:
        """Executions waiting for a review, through the organization and walls only."""
        statement = (
            super()
            .statement_for(principal)
            .where(WorkflowExecution.status == "waiting_review")
            .order_by(WorkflowExecution.created_at.desc(), WorkflowExecution.id)
            .limit(limit)
        )
        return list((await self.session.execute(statement)).scalars())

    async def started_between(
        self, principal: Principal, since: datetime, until: datetime
    ) -> list[WorkflowExecution]:
        statement = self.statement_for(principal).where(
            WorkflowExecution.created_at >= since, WorkflowExecution.created_at < until
        )
        return list((await self.session.execute(statement)).scalars())

    async def cancel_asked(self, execution_id: str) -> bool:
        statement = select(WorkflowExecution.cancel_requested).where(
            WorkflowExecution.id == execution_id
        )
        return bool(await self.session.scalar(statement))

    async def locked(self, execution_id: str) -> WorkflowExecution | None:
        """The execution, locked for a change of state (the engine's own reads: no caller)."""
        statement = select(WorkflowExecution).where(WorkflowExecution.id == execution_id)
        return await self.get_one_or_none(statement.with_for_update())


class StepRepository(Repository[WorkflowStep]):
    """Steps of an execution already read through its scope."""

    model = WorkflowStep

    async def of_execution(self, execution_id: str) -> list[WorkflowStep]:
        statement = (
            select(WorkflowStep)
            .where(WorkflowStep.execution_id == execution_id)
            .order_by(WorkflowStep.ordinal)
        )
        return list((await self.session.execute(statement)).scalars())

    async def of_executions(self, execution_ids: list[str]) -> list[WorkflowStep]:
        statement = (
            select(WorkflowStep)
            .where(WorkflowStep.execution_id.in_(execution_ids))
            .order_by(WorkflowStep.execution_id, WorkflowStep.ordinal)
        )
        return list((await self.session.execute(statement)).scalars())
