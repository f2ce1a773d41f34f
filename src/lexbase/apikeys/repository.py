"""All SQL of API keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, or_, select, update

from lexbase.apikeys.models import ApiKey
from lexbase.core.scope import ScopedRepository
from lexbase.users.models import User


class ApiKeyRepository(ScopedRepository[ApiKey]):
    model = ApiKey

    async def by_hash(self, key_hash: str) -> ApiKey | None:
        return await self.get_one_or_none(select(ApiKey).where(ApiKey.key_hash == key_hash))

    async def with_owner(self, key_hash: str) -> tuple[ApiKey, User] | None:
        """The key with this digest and the user it belongs to, in one statement."""
        statement = (
            select(ApiKey, User)
            .join(User, User.id == ApiKey.user_id)
            .where(ApiKey.key_hash == key_hash)
        )
        row = (await self.session.execute(statement)).one_or_none()
        return None if row is None else (row[0], row[1])

    async def active_owner(self, key_hash: str, now: datetime) -> str | None:
        """The user whose unrevoked, unexpired key has this digest."""
        statement = select(ApiKey.user_id).where(
            ApiKey.key_hash == key_hash,
            ApiKey.revoked_at.is_(None),
            or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > now),
        )
        owner: str | None = await self.session.scalar(statement)
        return owner

    async def revoke_all_for_user(self, user_id: str, at: datetime) -> int:
        result = await self.session.execute(
            update(ApiKey)
            .where(ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None))
            .values(revoked_at=at)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    def owned_by(self, user_id: str, organization_id: str) -> Select[ApiKey]:
        return (
            select(ApiKey)
            .where(ApiKey.user_id == user_id, ApiKey.organization_id == organization_id)
            .order_by(ApiKey.created_at.desc())
        )
