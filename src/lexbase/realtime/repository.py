from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from lexbase.core.principal import Principal
from lexbase.core.scope import visible_matter_ids


async def visible_matters(session: AsyncSession, principal: Principal) -> set[str]:
    return set((await session.execute(visible_matter_ids(principal))).scalars().all())
