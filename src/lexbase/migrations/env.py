"""Alembic environment: one set of revisions for SQLite and PostgreSQL, via the async engine."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from alembic import context
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from lexbase.core.db import UTCDateTime, apply_sqlite_pragmas
from lexbase.models import Base
from lexbase.search.keyword_index import is_index_object
from lexbase.search.vector_column import EmbeddingVector

config = context.config
target_metadata = Base.metadata


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """Render our UTC datetime type as the plain column type it stores."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if type_ == "type" and isinstance(obj, EmbeddingVector):
        return "sa.LargeBinary()  # pgvector VECTOR() on PostgreSQL"
    return False


def _include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """The keyword index is maintained by raw DDL, not by the models."""
    return not (reflected and is_index_object(name, type_))


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things in place; batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=_render_item,
        include_object=_include_object,
    )


def _run(connection: Connection) -> None:
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_async_engine(config.get_main_option("sqlalchemy.url") or "")
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", apply_sqlite_pragmas)
    try:
        async with engine.connect() as async_connection:
            await async_connection.run_sync(_run)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_async())
