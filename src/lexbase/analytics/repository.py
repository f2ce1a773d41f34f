"""All SQL of usage analytics: events, their per-day rollups, and the reads that add the two."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import func, select, update

from lexbase.analytics.models import UsageDaily, UsageEvent
from lexbase.core.repository import Repository

# (day, user, kind) and the rollups' sums: events, quantity, prompt and completion tokens, cost
RolledRow = tuple[date, str, str, int, int, int, int, float]
DayKey = tuple[date, str, str, str, str]  # day, user, kind, provider, model ('' when none)


class UsageRepository(Repository[UsageEvent]):
    model = UsageEvent

    async def rolled(
        self,
        organization_id: str,
        first: date,
        last: date,
        user_id: str | None,
        kinds: Sequence[str] | None,
    ) -> list[RolledRow]:
        statement = (
            select(
                UsageDaily.day,
                UsageDaily.user_id,
                UsageDaily.kind,
                func.sum(UsageDaily.events),
                func.sum(UsageDaily.quantity),
                func.sum(UsageDaily.prompt_tokens),
                func.sum(UsageDaily.completion_tokens),
                func.sum(UsageDaily.estimated_cost),
            )
            .where(
                UsageDaily.organization_id == organization_id,
                UsageDaily.day >= first,
                UsageDaily.day <= last,
            )
            .group_by(UsageDaily.day, UsageDaily.user_id, UsageDaily.kind)
        )
        if user_id is not None:
            statement = statement.where(UsageDaily.user_id == user_id)
        if kinds is not None:
            statement = statement.where(UsageDaily.kind.in_(kinds))
        return [
            (day, user, kind, int(e), int(q), int(p), int(c), float(cost))
            for day, user, kind, e, q, p, c, cost in (await self.session.execute(statement)).all()
        ]

    async def pending(
        self,
        organization_id: str,
        since: datetime,
        until: datetime,
        user_id: str | None,
        kinds: Sequence[str] | None,
    ) -> list[UsageEvent]:
        """Events of the period not rolled up yet."""
        statement = select(UsageEvent).where(
            UsageEvent.organization_id == organization_id,
            UsageEvent.rolled_up.is_(False),
            UsageEvent.created_at >= since,
            UsageEvent.created_at < until,
        )
        if user_id is not None:
            statement = statement.where(UsageEvent.user_id == user_id)
        if kinds is not None:
            statement = statement.where(UsageEvent.kind.in_(kinds))
        return list((await self.session.execute(statement)).scalars())

    async def recent(self, organization_id: str, user_id: str, limit: int) -> list[UsageEvent]:
        statement = (
            select(UsageEvent)
            .where(UsageEvent.organization_id == organization_id, UsageEvent.user_id == user_id)
            .order_by(UsageEvent.created_at.desc(), UsageEvent.id)
            .limit(limit)
        )
        return list((await self.session.execute(statement)).scalars())

    async def take_pending(self, organization_id: str, batch: int) -> list[UsageEvent]:
        """Up to `batch` of the organization's events not rolled up, locked for the rollup."""
        statement = (
            select(UsageEvent)
            .where(UsageEvent.rolled_up.is_(False), UsageEvent.organization_id == organization_id)
            .order_by(UsageEvent.created_at)
            .limit(batch)
            .with_for_update(skip_locked=True)
        )
        return list((await self.session.execute(statement)).scalars())

    async def days(self, organization_id: str, first: date, last: date) -> dict[DayKey, UsageDaily]:
        """The organization's day rows from `first` to `last`, locked, by key."""
        statement = (
            select(UsageDaily)
            .where(
                UsageDaily.organization_id == organization_id,
                UsageDaily.day >= first,
                UsageDaily.day <= last,
            )
            .with_for_update()
        )
        return {
            (r.day, r.user_id, r.kind, r.provider, r.model): r
            for r in (await self.session.execute(statement)).scalars()
        }

    def new_day(self, organization_id: str, key: DayKey) -> UsageDaily:
        day, user_id, kind, provider, model = key
        row = UsageDaily(
            organization_id=organization_id,
            day=day,
            user_id=user_id,
            kind=kind,
            provider=provider,
            model=model,
            events=0,
            quantity=0,
            prompt_tokens=0,
            completion_tokens=0,
            estimated_cost=0.0,
        )
        self.session.add(row)
        return row

    async def mark_rolled_up(self, event_ids: Sequence[str]) -> None:
        await self.session.execute(
            update(UsageEvent)
            .where(UsageEvent.id.in_(event_ids))
            .values(rolled_up=True)
            .execution_options(synchronize_session=False)
        )

    async def cost_by_workflow(self, execution_ids: Sequence[str]) -> dict[str, float]:
        """The estimated cost of the model calls each execution's steps made."""
        if not execution_ids:
            return {}
        statement = (
            select(UsageEvent.workflow_execution_id, func.sum(UsageEvent.estimated_cost))
            .where(UsageEvent.workflow_execution_id.in_(execution_ids))
            .group_by(UsageEvent.workflow_execution_id)
        )
        return {
            str(id_): float(cost or 0.0)
            for id_, cost in (await self.session.execute(statement)).all()
        }

    async def organizations_pending(self) -> list[str]:
        statement = (
            select(UsageEvent.organization_id)
            .where(UsageEvent.rolled_up.is_(False))
            .group_by(UsageEvent.organization_id)
        )
        return list((await self.session.execute(statement)).scalars())
