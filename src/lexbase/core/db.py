"""Database engine, sessions and the declarative base — one code path for SQLite and Postgres."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, MetaData, String, TypeDecorator, event
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from lexbase.core import tracing
from lexbase.core.config import Settings
from lexbase.core.errors import LexbaseError

# Stable constraint names so Alembic migrations are identical on both dialects.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# What a database that restarts or drops connections raises (timeouts are OSErrors too).
DATABASE_ERRORS = (SQLAlchemyError, OSError)


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return str(uuid.uuid4())


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both backends (SQLite drops tzinfo on the way back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use UTC-aware values")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}  # noqa: RUF012 - read by SQLAlchemy


class IdMixin:
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


WRITE_OPTION = "lexbase_write"
_STATEMENT_OPTION = "lexbase_statement_reads"


def apply_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Take over BEGIN from the driver so write transactions can say BEGIN IMMEDIATE.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    """Writers take SQLite's write lock up front: a deferred transaction that upgrades later
    fails at once with SQLITE_BUSY when another writer got there first (no busy wait).
    Statement reads begin nothing: each statement is atomic on its own."""
    options = connection.get_execution_options()
    if options.get(WRITE_OPTION):
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    elif not options.get(_STATEMENT_OPTION):
        connection.exec_driver_sql("BEGIN")


def create_engine(settings: Settings) -> AsyncEngine:
    url = settings.resolved_database_url
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, echo=settings.database_echo)
        event.listen(engine.sync_engine, "connect", apply_sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
    else:
        engine = create_async_engine(
            url,
            echo=settings.database_echo,
            pool_size=settings.database_pool_size,
            max_overflow=settings.database_pool_size,
            pool_pre_ping=True,
            pool_recycle=1800,
            # Sent with the connection's startup packet, so no query pays a round trip for
            # them: the vector search's HNSW scans (search/index_postgres.py) keep going past
            # rows the tenant and filters reject, from a candidate list of 200.
            connect_args={
                "server_settings": POSTGRES_SESSION_SETTINGS,
                "timeout": settings.database_connect_timeout_seconds,
            },
        )
    tracing.instrument_engine(engine)
    return engine


POSTGRES_SESSION_SETTINGS = {"hnsw.iterative_scan": "relaxed_order", "hnsw.ef_search": "200"}


def create_sessionmaker(
    engine: AsyncEngine,
    *,
    write: bool = False,
    autocommit: bool = False,
    info: dict[str, Any] | None = None,
) -> async_sessionmaker[AsyncSession]:
    """Sessions for reads, or (write=True) for units of work that will write.

    `autocommit`: every statement is its own transaction — no BEGIN (on SQLite each BEGIN
    costs three trips to the driver's thread; on PostgreSQL, no COMMIT either, and a
    one-round-trip liveness check at checkout instead of three) — for reads that need no
    snapshot shared between their statements. `info` is copied into every session (the
    lifespan puts its event bus there)."""
    bind = engine
    if write:
        bind = engine.execution_options(**{WRITE_OPTION: True})
    elif autocommit and engine.dialect.name == "postgresql":
        bind = engine.execution_options(isolation_level="AUTOCOMMIT")
    elif autocommit:
        bind = engine.execution_options(**{_STATEMENT_OPTION: True})
    return async_sessionmaker(bind, expire_on_commit=False, autoflush=False, info=info)


def after_commit(session: AsyncSession, callback: Callable[[], None]) -> None:
    """Run `callback` once this session's transaction commits (never if it rolls back):
    jobs are recorded inside the transaction and dispatched only after it."""
    session.sync_session.info.setdefault(_AFTER_COMMIT, []).append(callback)


_AFTER_COMMIT = "lexbase_after_commit"


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    for callback in session.info.pop(_AFTER_COMMIT, []):
        callback()


def after_transaction(session: AsyncSession, callback: Callable[[], None]) -> None:
    """Run `callback` once this session's transaction ends, committed or rolled back."""
    session.sync_session.info.setdefault(_AFTER_TRANSACTION, []).append(callback)


_AFTER_TRANSACTION = "lexbase_after_transaction"


@event.listens_for(Session, "after_rollback")
def _drop_after_commit(session: Session) -> None:
    session.info.pop(_AFTER_COMMIT, None)
    _run_after_transaction(session)


@event.listens_for(Session, "after_commit")
def _run_after_transaction(session: Session) -> None:
    for callback in session.info.pop(_AFTER_TRANSACTION, []):
        callback()


@asynccontextmanager
async def transaction(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """One unit of work: commit when the body succeeds, roll back when it raises."""
    async with sessionmaker() as session:
        try:
            yield session
        except LexbaseError as exc:
            await (session.commit() if exc.keep_changes else session.rollback())
            raise
        except BaseException:
            await session.rollback()
            raise
        else:
            await session.commit()
