"""Request-scoped dependencies shared by every domain, as `Annotated` aliases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from lexbase.core.config import Settings
from lexbase.core.db import transaction
from lexbase.core.resources import Resources

# The dependencies below are `async def` though they never wait: FastAPI runs a plain `def`
# dependency in its thread pool, a thread hop per request for reading an attribute.


def _resources(request: Request) -> Resources:
    resources: Resources = request.app.state.resources
    return resources


async def get_resources(request: Request) -> Resources:
    return _resources(request)


async def get_settings(request: Request) -> Settings:
    return _resources(request).settings


_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request, committed before the response is sent."""
    resources = _resources(request)
    maker = (
        resources.sessionmaker if request.method in _READ_METHODS else resources.write_sessionmaker
    )
    async with transaction(maker) as session:
        yield session


async def get_statement_session(request: Request) -> AsyncIterator[AsyncSession]:
    """For a read route whose work is one statement: no BEGIN, no snapshot to hold (on
    SQLite a transaction costs five more trips to the driver's thread than the read)."""
    async with transaction(_resources(request).statement_reads) as session:
        yield session


ResourcesDep = Annotated[Resources, Depends(get_resources)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
StatementSessionDep = Annotated[AsyncSession, Depends(get_statement_session, scope="function")]
