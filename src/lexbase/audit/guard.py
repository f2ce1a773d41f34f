"""Database triggers that make `audit_events` append-only for the application.

Only someone able to change the schema can rewrite history, and the hash chain exposes that.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

MESSAGE = "audit_events is append-only"

SQLITE_CREATE = (
    "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
    "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
)
SQLITE_DROP = (
    "DROP TRIGGER IF EXISTS audit_events_no_update",
    "DROP TRIGGER IF EXISTS audit_events_no_delete",
)


async def lift_guard(connection: AsyncSession) -> None:
    """Suspend the guard inside the current transaction (maintenance and tamper tests only).

    PostgreSQL: `session_replication_role = replica` for this transaction (needs superuser).
    SQLite: drop the triggers; `restore_guard` recreates them before the transaction ends.
    """
    dialect = connection.get_bind().dialect.name
    if dialect == "postgresql":
        await connection.execute(text("SET LOCAL session_replication_role = replica"))
        return
    for statement in SQLITE_DROP:
        await connection.execute(text(statement))


async def restore_guard(connection: AsyncSession) -> None:
    if connection.get_bind().dialect.name == "postgresql":
        return  # SET LOCAL ends with the transaction
    for statement in SQLITE_CREATE:
        await connection.execute(text(statement))
