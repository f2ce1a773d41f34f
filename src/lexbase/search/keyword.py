"""The keyword index as writers need it: made for an organization with its first chunks."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from lexbase.search.index import session_index


async def ensure_organization_index(session: AsyncSession, organization_id: str) -> None:
    """Make the organization's keyword index unless it exists (SQLite keeps one per firm,
    PostgreSQL's `tsvector` columns serve every firm). Runs inside the writing transaction
    that stores the organization's first chunks, so they are indexed with them."""
    await session_index(session).prepare_organization(session, organization_id)
