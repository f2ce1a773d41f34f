"""All SQL of the audit log. Appends lock the chain head so concurrent writers never fork it."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from lexbase.audit.models import AuditChainHead, AuditEvent
from lexbase.core.principal import Principal
from lexbase.core.repository import DEFAULT_PAGE_SIZE
from lexbase.core.scope import ScopedRepository

STREAM_BATCH_SIZE = 500


@dataclass(frozen=True)
class ChainTip:
    """A chain's head row (None when absent) and its highest stored seq, read together."""

    head_seq: int | None
    head_hash: str | None
    last_seq: int | None


class AuditRepository(ScopedRepository[AuditEvent]):
    model = AuditEvent

    async def lock_head(self, chain: str) -> AuditChainHead:
        """The chain's head row, created if missing, locked until the transaction ends."""
        dialect = self.session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        await self.session.execute(
            insert(AuditChainHead).values(chain=chain).on_conflict_do_nothing()
        )
        result = await self.session.execute(
            select(AuditChainHead)
            .where(AuditChainHead.chain == chain)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return result.scalar_one()

    async def append(self, head: AuditChainHead, event: AuditEvent) -> AuditEvent:
        self.session.add(event)
        head.seq = event.seq
        head.hash = event.hash
        await self.session.flush()
        return event

    def filtered(
        self,
        principal: Principal,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        event_type: str | None = None,
        user_id: str | None = None,
        resource_id: str | None = None,
    ) -> Select[AuditEvent]:
        """The caller's organization's events; `start` is inclusive, `end` exclusive."""
        # The scope already limits rows to the organization; naming its chain as well lets
        # the (chain, seq) unique index serve both the newest-first page and keyset streaming.
        statement = self.statement_for(principal).where(
            AuditEvent.chain == principal.organization_id
        )
        if start is not None:
            statement = statement.where(AuditEvent.created_at >= start)
        if end is not None:
            statement = statement.where(AuditEvent.created_at < end)
        if event_type is not None:
            statement = statement.where(AuditEvent.event_type == event_type)
        if user_id is not None:
            statement = statement.where(AuditEvent.actor_id == user_id)
        if resource_id is not None:
            statement = statement.where(AuditEvent.resource_id == resource_id)
        return statement

    async def newest_first(
        self, statement: Select[AuditEvent], *, limit: int = DEFAULT_PAGE_SIZE, offset: int = 0
    ) -> tuple[Sequence[AuditEvent], int]:
        return await self.paginate(
            statement.order_by(AuditEvent.seq.desc()), limit=limit, offset=offset
        )

    async def stream(
        self, statement: Select[AuditEvent], batch_size: int = STREAM_BATCH_SIZE
    ) -> AsyncGenerator[AuditEvent, None]:
        """Yield events in batches ordered by (seq), keyset-paginated to bound memory."""
        last_seq = -1
        while True:
            batch = (
                (
                    await self.session.execute(
                        statement.where(AuditEvent.seq > last_seq)
                        .order_by(AuditEvent.seq)
                        .limit(batch_size)
                    )
                )
                .scalars()
                .all()
            )
            if not batch:
                return
            for event in batch:
                yield event
            last_seq = batch[-1].seq

    async def head(self, chain: str) -> AuditChainHead | None:
        return await self.session.get(AuditChainHead, chain)

    async def tip(self, chain: str) -> ChainTip:
        # One statement sees one snapshot even under READ COMMITTED, so an append that commits
        # meanwhile cannot leave the head and the newest row disagreeing in what we read.
        row = (
            await self.session.execute(
                select(
                    select(AuditChainHead.seq)
                    .where(AuditChainHead.chain == chain)
                    .scalar_subquery(),
                    select(AuditChainHead.hash)
                    .where(AuditChainHead.chain == chain)
                    .scalar_subquery(),
                    select(func.max(AuditEvent.seq))
                    .where(AuditEvent.chain == chain)
                    .scalar_subquery(),
                )
            )
        ).one()
        return ChainTip(head_seq=row[0], head_hash=row[1], last_seq=row[2])

    def chain_statement(self, chain: str, *, through: int | None = None) -> Select[AuditEvent]:
        """Every event of `chain`, or only those up to seq `through`."""
        statement = select(AuditEvent).where(AuditEvent.chain == chain)
        if through is not None:
            statement = statement.where(AuditEvent.seq <= through)
        return statement

    async def chains(self) -> list[str]:
        result = await self.session.execute(
            select(AuditChainHead.chain).order_by(AuditChainHead.chain)
        )
        return list(result.scalars().all())
