"""One set of Alembic revisions, identical in effect on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from lexbase.core.migrate import alembic_config
from lexbase.models import Base
from lexbase.search.keyword_index import is_index_object
from tests.support.services import PostgresServer


async def test_database_is_at_head(database_url: str) -> None:
    heads = ScriptDirectory.from_config(alembic_config(database_url)).get_heads()
    assert len(heads) == 1, "migrations must form a single line of history"
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            current = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    finally:
        await engine.dispose()
    assert current == heads[0]


async def test_models_match_migrations(database_url: str) -> None:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(
                        sync,
                        opts={
                            "compare_type": True,
                            "include_object": lambda obj, name, type_, reflected, other: (
                                not (reflected and is_index_object(name, type_))
                            ),
                        },
                    ),
                    Base.metadata,
                )
            )
    finally:
        await engine.dispose()
    assert diff == [], f"models and migrations disagree: {diff}"


async def test_pgvector_available_on_postgres(postgres_server: PostgresServer) -> None:
    engine = create_async_engine(postgres_server.url)
    try:
        async with engine.connect() as conn:
            version = (
                await conn.execute(
                    text("SELECT extversion FROM pg_extension WHERE extname='vector'")
                )
            ).scalar_one()
            distance = (
                await conn.execute(text("SELECT '[1,0,0]'::vector <=> '[0,1,0]'::vector"))
            ).scalar_one()
    finally:
        await engine.dispose()
    assert tuple(int(p) for p in version.split(".")[:2]) >= (0, 8)
    assert distance == 1.0
