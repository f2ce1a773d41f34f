"""The generic repository and the per-request transaction, on both databases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import String, select
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from lexbase.core.db import IdMixin, TimestampMixin, UTCDateTime, create_sessionmaker, transaction
from lexbase.core.repository import Repository
from tests.conftest import SettingsFactory


class _Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime()}


class Widget(IdMixin, TimestampMixin, _Base):
    __tablename__ = "test_widgets"
    name: Mapped[str] = mapped_column(String(50))
    owner: Mapped[str] = mapped_column(String(50))


class WidgetRepository(Repository[Widget]):
    model = Widget


@pytest.fixture
async def sessionmaker(database_url: str) -> AsyncIterator[object]:
    engine = create_async_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(_Base.metadata.create_all)
    try:
        yield create_sessionmaker(engine)
    finally:
        async with engine.begin() as conn:
            await conn.run_sync(_Base.metadata.drop_all)
        await engine.dispose()


async def test_add_get_update_delete(sessionmaker: object) -> None:
    async with transaction(sessionmaker) as session:  # type: ignore[arg-type]
        repo = WidgetRepository(session)
        widget = await repo.add(Widget(name="gavel", owner="a"))
        assert widget.id and len(widget.id) == 36
        created = widget.created_at
        assert created.tzinfo is not None
    async with transaction(sessionmaker) as session:  # type: ignore[arg-type]
        repo = WidgetRepository(session)
        loaded = await repo.get(widget.id)
        assert loaded is not None and loaded.name == "gavel"
        assert loaded.created_at == created and loaded.created_at.tzinfo == UTC
        await repo.update(loaded, {"name": "mallet"})
    async with transaction(sessionmaker) as session:  # type: ignore[arg-type]
        repo = WidgetRepository(session)
        again = await repo.get(widget.id)
        assert again is not None and again.name == "mallet"
        await repo.delete(again)
    async with transaction(sessionmaker) as session:  # type: ignore[arg-type]
        assert await WidgetRepository(session).get(widget.id) is None


async def test_paginate_counts_whole_match_set(sessionmaker: object) -> None:
    async with transaction(sessionmaker) as session:  # type: ignore[arg-type]
        repo = WidgetRepository(session)
        for i in range(7):
            await repo.add(Widget(name=f"w{i}", owner="a" if i % 2 else "b"))
        statement = repo.statement().where(Widget.owner == "b").order_by(Widget.name)
        items, total = await repo.paginate(statement, limit=2, offset=2)
        assert total == 4
        assert [w.name for w in items] == ["w4", "w6"]


async def test_failed_unit_of_work_rolls_back(sessionmaker: object) -> None:
    with pytest.raises(RuntimeError):
        async with transaction(sessionmaker) as session:  # type: ignore[arg-type]
            await WidgetRepository(session).add(Widget(name="ghost", owner="a"))
            raise RuntimeError("boom")
    async with transaction(sessionmaker) as session:  # type: ignore[arg-type]
        s: AsyncSession = session
        names = (await s.execute(select(Widget.name))).scalars().all()
        assert "ghost" not in names


async def test_naive_datetimes_are_refused(sessionmaker: object) -> None:
    with pytest.raises(Exception, match="naive datetimes"):
        async with transaction(sessionmaker) as session:  # type: ignore[arg-type]
            await WidgetRepository(session).add(
                Widget(name="n", owner="a", created_at=datetime(2026, 1, 1))
            )


async def test_concurrent_writers_do_not_fail(
    sessionmaker: object, make_settings: SettingsFactory
) -> None:
    """Many read-then-write units of work at once: none may fail with a lock error."""
    import asyncio

    from lexbase.core.db import create_engine

    engine = create_engine(make_settings())
    writer = create_sessionmaker(engine, write=True)

    async def read_then_write(i: int) -> None:
        async with transaction(writer) as session:
            await session.execute(select(Widget.id))
            await asyncio.sleep(0.01)
            await WidgetRepository(session).add(Widget(name=f"c{i}", owner="z"))

    try:
        await asyncio.gather(*(read_then_write(i) for i in range(12)))
        async with transaction(writer) as session:
            repo = WidgetRepository(session)
            assert await repo.count(repo.statement().where(Widget.owner == "z")) == 12
    finally:
        await engine.dispose()
