"""Audit rows written through `record()` and tampered with behind the service's back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from lexbase.audit.guard import lift_guard, restore_guard
from lexbase.audit.models import AuditEvent
from lexbase.audit.service import ChainVerification, record, verify_chain
from lexbase.core.db import create_engine, create_sessionmaker, transaction
from tests.conftest import SettingsFactory


class AuditLog:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker

    async def record(
        self,
        organization_id: str,
        event_type: str = "matter.created",
        *,
        actor_id: str | None = None,
        resource: tuple[str, str | None] | None = None,
        details: dict[str, Any] | None = None,
    ) -> AuditEvent:
        """One event in its own write transaction, as a request would append it."""
        async with transaction(self.sessionmaker) as session:
            return await record(
                session,
                event_type,
                organization_id=organization_id,
                actor_id=actor_id,
                actor_type="user" if actor_id else "system",
                resource=resource,
                details=details,
            )

    async def record_many(self, organization_id: str, count: int) -> list[AuditEvent]:
        return [await self.record(organization_id, details={"n": n}) for n in range(1, count + 1)]

    async def rows(self, chain: str) -> list[AuditEvent]:
        async with self.sessionmaker() as session:
            result = await session.execute(
                select(AuditEvent).where(AuditEvent.chain == chain).order_by(AuditEvent.seq)
            )
            return list(result.scalars().all())

    async def update(self, event_id: str, **values: Any) -> None:
        """A raw UPDATE by someone who can also switch off the append-only triggers."""
        async with transaction(self.sessionmaker) as session:
            await lift_guard(session)
            await session.execute(
                update(AuditEvent).where(AuditEvent.id == event_id).values(**values)
            )
            await restore_guard(session)

    async def delete(self, event_id: str) -> None:
        async with transaction(self.sessionmaker) as session:
            await lift_guard(session)
            await session.execute(delete(AuditEvent).where(AuditEvent.id == event_id))
            await restore_guard(session)

    async def verify(self, chain: str, *, batch_size: int = 500) -> ChainVerification:
        async with self.sessionmaker() as session:
            return await verify_chain(session, chain, batch_size=batch_size)


@pytest.fixture
async def audit_log(make_settings: SettingsFactory) -> AsyncIterator[AuditLog]:
    engine = create_engine(make_settings())
    try:
        yield AuditLog(create_sessionmaker(engine, write=True))
    finally:
        await engine.dispose()
