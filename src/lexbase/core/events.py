"""Organization-scoped real-time events: in-process, or over Redis pub/sub across replicas.

Events are facts already committed to the database (a document's status, a job's progress);
a missed event is never lost state — clients can always re-read the resource.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession

from lexbase.core.background import spawn
from lexbase.core.db import after_commit

log = structlog.get_logger(__name__)

_QUEUE_SIZE = 1000
_CHANNEL_PREFIX = "lexbase:events:"
# Sessions made by the lifespan's sessionmakers carry the bus in their `info` under this key.
EVENT_BUS_INFO = "lexbase_event_bus"
# Internal: someone's access changed (sign-out, role, deactivation, walls, keys). Never sent
# to clients; open WebSockets of the organization re-check their caller when it arrives.
ACCESS_CHANGED = "access.changed"


@dataclass(frozen=True)
class Event:
    type: str  # "document.status", "job.progress", ...
    organization_id: str
    matter_id: str | None
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps({"type": self.type, "matter_id": self.matter_id, "data": self.data})

    @property
    def internal(self) -> bool:
        return self.type == ACCESS_CHANGED


class EventBus(Protocol):
    async def publish(self, event: Event) -> None: ...

    def subscribe(self, organization_id: str) -> AsyncIterator[Event]: ...

    async def close(self) -> None: ...


class InProcessEventBus:
    def __init__(self) -> None:
        self._subscribers: dict[str, set[asyncio.Queue[Event]]] = {}

    async def publish(self, event: Event) -> None:
        for queue in list(self._subscribers.get(event.organization_id, ())):
            with contextlib.suppress(asyncio.QueueFull):  # a stalled client drops, never blocks
                queue.put_nowait(event)

    async def subscribe(self, organization_id: str) -> AsyncIterator[Event]:
        queue: asyncio.Queue[Event] = asyncio.Queue(_QUEUE_SIZE)
        self._subscribers.setdefault(organization_id, set()).add(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._subscribers[organization_id].discard(queue)

    async def close(self) -> None:
        self._subscribers.clear()


class RedisEventBus:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def publish(self, event: Event) -> None:
        payload = json.dumps(
            {"organization_id": event.organization_id, **json.loads(event.to_json())}
        )
        try:
            await self.redis.publish(_CHANNEL_PREFIX + event.organization_id, payload)
        except (RedisError, OSError) as exc:  # best-effort; the database holds the truth
            log.warning("events.publish_failed", error_type=type(exc).__name__)

    async def subscribe(self, organization_id: str) -> AsyncIterator[Event]:
        pubsub = self.redis.pubsub()
        await pubsub.subscribe(_CHANNEL_PREFIX + organization_id)
        try:
            async for message in pubsub.listen():
                if message.get("type") != "message":
                    continue
                body = json.loads(message["data"])
                yield Event(
                    body["type"], body["organization_id"], body.get("matter_id"), body["data"]
                )
        finally:
            await pubsub.unsubscribe()
            await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def close(self) -> None:
        return None


def publish_soon(bus: EventBus, event: Event) -> None:
    """Publish without awaiting (from sync callbacks such as after-commit hooks)."""
    spawn(bus.publish(event))


def publish_after_commit(session: AsyncSession, event: Event) -> None:
    """Publish `event` once the session's transaction commits (never if it rolls back)."""
    bus: EventBus | None = session.sync_session.info.get(EVENT_BUS_INFO)
    if bus is not None:
        after_commit(session, lambda: publish_soon(bus, event))


def access_changed(session: AsyncSession, organization_id: str, **data: Any) -> None:
    """Tell the organization's open WebSockets to re-check their callers after this commits."""
    publish_after_commit(session, Event(ACCESS_CHANGED, organization_id, None, data))
