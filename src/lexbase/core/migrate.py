"""Run Alembic migrations from code (the CLI and the test suite share this path)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from alembic import command
from alembic.config import Config

from lexbase.core.config import Settings

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def _outside_event_loop(work: Callable[[], None]) -> None:
    """Alembic's env runs its own event loop, which cannot nest inside a running one."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        work()
        return
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(work).result()


def upgrade(settings: Settings, revision: str = "head") -> None:
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    config = alembic_config(settings.resolved_database_url)
    _outside_event_loop(lambda: command.upgrade(config, revision))


def downgrade(settings: Settings, revision: str) -> None:
    config = alembic_config(settings.resolved_database_url)
    _outside_event_loop(lambda: command.downgrade(config, revision))
