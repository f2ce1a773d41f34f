"""Reading usage: the rollups of the days asked for plus the events not rolled up yet — exact
at any moment, and never a scan of every event (the pending ones are the last few minutes').
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from lexbase.analytics.models import (
    CHAT_MESSAGE,
    DOCUMENT_UPLOAD,
    MODEL_CALL,
    PAGES_PROCESSED,
    SEARCH,
    WORKFLOW_RUN,
    UsageEvent,
)
from lexbase.analytics.repository import UsageRepository
from lexbase.analytics.rollup import Sums, summed
from lexbase.core.db import utcnow
from lexbase.core.principal import Principal
from lexbase.users.models import User
from lexbase.users.repository import UserRepository
from lexbase.workflows.service import executions_between


@dataclass(frozen=True)
class Window:
    """Whole days, UTC, both ends included."""

    first: date
    last: date

    @classmethod
    def last_days(cls, days: int) -> Window:
        today = utcnow().date()
        return cls(today - timedelta(days=days - 1), today)

    @property
    def since(self) -> datetime:
        return datetime.combine(self.first, time.min, tzinfo=UTC)

    @property
    def until(self) -> datetime:  # exclusive
        return datetime.combine(self.last + timedelta(days=1), time.min, tzinfo=UTC)


@dataclass
class Usage:
    """What one user (or the whole organization) used in a window."""

    searches: int = 0
    chat_messages: int = 0
    documents_uploaded: int = 0
    pages_processed: int = 0
    workflow_runs: int = 0
    model_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    estimated_cost: float = 0.0

    def add(self, kind: str, sums: Sums) -> None:
        if kind == SEARCH:
            self.searches += sums.events
        elif kind == CHAT_MESSAGE:
            self.chat_messages += sums.events
        elif kind == DOCUMENT_UPLOAD:
            self.documents_uploaded += sums.events
        elif kind == PAGES_PROCESSED:
            self.pages_processed += sums.quantity
        elif kind == WORKFLOW_RUN:
            self.workflow_runs += sums.events
        elif kind == MODEL_CALL:
            self.model_calls += sums.events
        self.prompt_tokens += sums.prompt_tokens
        self.completion_tokens += sums.completion_tokens
        self.estimated_cost += sums.estimated_cost

    def merge(self, other: Usage) -> None:
        for name, value in vars(other).items():
            setattr(self, name, getattr(self, name) + value)


# (day, user, kind) with their sums: from rollups and from pending events alike.
Rows = list[tuple[date, str, str, Sums]]


async def _rows(
    session: AsyncSession,
    organization_id: str,
    window: Window,
    user_id: str | None,
    kinds: tuple[str, ...] | None = None,
) -> Rows:
    repository = UsageRepository(session)
    rolled = await repository.rolled(organization_id, window.first, window.last, user_id, kinds)
    rows: Rows = [
        (day, user, kind, Sums(e, q, p, c, cost)) for day, user, kind, e, q, p, c, cost in rolled
    ]
    events = await repository.pending(organization_id, window.since, window.until, user_id, kinds)
    rows += [(day, user, kind, sums) for (day, user, kind, _, _), sums in summed(events).items()]
    return rows


async def usage(
    session: AsyncSession, organization_id: str, window: Window, user_id: str | None = None
) -> Usage:
    total = Usage()
    for _, _, kind, sums in await _rows(session, organization_id, window, user_id):
        total.add(kind, sums)
    return total


async def usage_by_user(
    session: AsyncSession, organization_id: str, window: Window
) -> dict[str, Usage]:
    """Per user id ('' for work no user asked for)."""
    users: dict[str, Usage] = defaultdict(Usage)
    for _, user, kind, sums in await _rows(session, organization_id, window, None):
        users[user].add(kind, sums)
    return dict(users)


async def organization_usage_of(
    session: AsyncSession, organization_id: str, window: Window
) -> tuple[Usage, list[tuple[str, User | None, Usage]]]:
    """The organization's usage in all, and per user id (with the user; '' for work no user
    asked for), in user id order."""
    by_user = await usage_by_user(session, organization_id, window)
    ids = [u for u in by_user if u]
    people = {u.id: u for u in await UserRepository(session).in_organization(organization_id, ids)}
    total = Usage()
    for used in by_user.values():
        total.merge(used)
    return total, [(u, people.get(u), by_user[u]) for u in sorted(by_user)]


async def tokens_by_day(
    session: AsyncSession, organization_id: str, window: Window, user_id: str
) -> dict[date, Sums]:
    days: dict[date, Sums] = {}
    for day, _, _, sums in await _rows(session, organization_id, window, user_id, (MODEL_CALL,)):
        into = days.setdefault(day, Sums())
        into.events += sums.events
        into.prompt_tokens += sums.prompt_tokens
        into.completion_tokens += sums.completion_tokens
        into.estimated_cost += sums.estimated_cost
    return days


async def recent(
    session: AsyncSession, organization_id: str, user_id: str, limit: int
) -> list[UsageEvent]:
    return await UsageRepository(session).recent(organization_id, user_id, limit)


@dataclass
class TemplateRuns:
    template_id: str
    template_name: str
    runs: int = 0
    completed: int = 0
    failed: int = 0
    cancelled: int = 0
    seconds: list[float] = field(default_factory=list)  # of the finished ones
    estimated_cost: float = 0.0

    @property
    def success_rate(self) -> float | None:
        finished = self.completed + self.failed
        return round(self.completed / finished, 4) if finished else None

    @property
    def mean_seconds(self) -> float | None:
        return round(sum(self.seconds) / len(self.seconds), 3) if self.seconds else None


async def workflow_runs(
    session: AsyncSession, principal: Principal, window: Window
) -> list[TemplateRuns]:
    """Per template: executions started in the window (the caller's; an admin's: the
    organization's), how they ended, how long they took, what their model calls cost."""
    executions = await executions_between(session, principal, window.since, window.until)
    costs = await UsageRepository(session).cost_by_workflow([e.id for e in executions])
    by_template: dict[str, TemplateRuns] = {}
    for execution in executions:
        runs = by_template.setdefault(
            execution.template_id, TemplateRuns(execution.template_id, execution.template_name)
        )
        runs.runs += 1
        if execution.status in ("completed", "failed", "cancelled"):
            setattr(runs, execution.status, getattr(runs, execution.status) + 1)
            if execution.started_at is not None and execution.finished_at is not None:
                runs.seconds.append((execution.finished_at - execution.started_at).total_seconds())
        runs.estimated_cost += costs.get(execution.id, 0.0)
    return sorted(by_template.values(), key=lambda r: r.template_id)
