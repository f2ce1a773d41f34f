"""Per-day rollups of usage events (`UsageDaily`), made by the `rollup_usage` job.

One run takes an organization's events not rolled up yet, in batches, adds each batch to its
days' rows and marks the events rolled up — in one transaction per batch, so an event is
counted in a rollup exactly once (on PostgreSQL the batch is locked; SQLite writes are
serialized). Readers add the rollups to the events still pending (`reports.py`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from lexbase.analytics.models import UsageEvent
from lexbase.analytics.repository import DayKey, UsageRepository

BATCH = 5000


@dataclass
class Sums:
    events: int = 0
    quantity: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    estimated_cost: float = 0.0

    def add(self, event: UsageEvent) -> None:
        self.events += 1
        self.quantity += event.quantity
        self.prompt_tokens += event.prompt_tokens
        self.completion_tokens += event.completion_tokens
        self.estimated_cost += event.estimated_cost


def day_key(event: UsageEvent) -> DayKey:
    return (
        event.created_at.date(),
        event.user_id or "",
        event.kind,
        event.provider or "",
        event.model or "",
    )


def summed(events: Iterable[UsageEvent]) -> dict[DayKey, Sums]:
    sums: dict[DayKey, Sums] = defaultdict(Sums)
    for event in events:
        sums[day_key(event)].add(event)
    return sums


async def roll_up_batch(session: AsyncSession, organization_id: str, batch: int = BATCH) -> int:
    """Roll up to `batch` of the organization's pending events; how many were."""
    usage = UsageRepository(session)
    events = await usage.take_pending(organization_id, batch)
    if not events:
        return 0
    sums_by_key = summed(events)
    known = await usage.days(
        organization_id, min(k[0] for k in sums_by_key), max(k[0] for k in sums_by_key)
    )
    for key, sums in sums_by_key.items():
        row = known.get(key) or usage.new_day(organization_id, key)
        row.events += sums.events
        row.quantity += sums.quantity
        row.prompt_tokens += sums.prompt_tokens
        row.completion_tokens += sums.completion_tokens
        row.estimated_cost += sums.estimated_cost
    await usage.mark_rolled_up([e.id for e in events])
    return len(events)
