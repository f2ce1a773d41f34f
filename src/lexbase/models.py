"""Imports every domain's models so `Base.metadata` is complete (for Alembic and tests)."""

from lexbase.core.db import Base

__all__ = ["Base"]
