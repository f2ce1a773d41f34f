"""All SQL of identity: organizations, users, session families, refresh tokens, API keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, func, or_, select, update

from lexbase.auth.models import (
    ApiKey,
    AuthSession,
    LoginThrottle,
    Organization,
    RefreshToken,
    User,
)
from lexbase.core.principal import Principal
from lexbase.core.repository import Repository
from lexbase.core.scope import ScopedRepository


class OrganizationRepository(Repository[Organization]):
    model = Organization

    async def lock(self, organization_id: str) -> None:
        """Hold the organization's row until this transaction ends (SQLite's write lock
        already serializes every writer)."""
        await self.session.execute(
            select(Organization.id).where(Organization.id == organization_id).with_for_update()
        )


class UserRepository(ScopedRepository[User]):
    model = User

    async def by_email(self, organization_id: str, email: str) -> User | None:
        """The organization's account with this address."""
        return await self.get_one_or_none(
            select(User).where(User.organization_id == organization_id, User.email == email)
        )

    async def all_by_email(self, email: str, organization_id: str | None = None) -> list[User]:
        """Every account with this address (one per organization), or the one in
        `organization_id`."""
        statement = select(User).where(User.email == email).order_by(User.created_at)
        if organization_id is not None:
            statement = statement.where(User.organization_id == organization_id)
        return list((await self.session.execute(statement)).scalars().all())

    def search(
        self,
        principal: Principal,
        *,
        role: str | None = None,
        q: str | None = None,
        active: bool | None = None,
    ) -> Select[User]:
        statement = self.statement_for(principal).order_by(User.full_name, User.id)
        if role is not None:
            statement = statement.where(User.role == role)
        if active is not None:
            statement = statement.where(User.is_active.is_(active))
        if q:
            pattern = f"%{q.lower()}%"
            statement = statement.where(
                or_(func.lower(User.full_name).like(pattern), User.email.like(pattern))
            )
        return statement

    async def count_active_admins(self, organization_id: str) -> int:
        statement = select(User).where(
            User.organization_id == organization_id,
            User.role == "admin",
            User.is_active.is_(True),
        )
        return await self.count(statement)


class SessionRepository(Repository[AuthSession]):
    model = AuthSession

    async def revoke(self, session_id: str, reason: str, at: datetime) -> None:
        await self.session.execute(
            update(AuthSession)
            .where(AuthSession.id == session_id, AuthSession.revoked_at.is_(None))
            .values(revoked_at=at, revoked_reason=reason)
        )

    async def revoke_all_for_user(self, user_id: str, reason: str, at: datetime) -> int:
        result = await self.session.execute(
            update(AuthSession)
            .where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
            .values(revoked_at=at, revoked_reason=reason)
        )
        return int(getattr(result, "rowcount", 0) or 0)


class RefreshTokenRepository(Repository[RefreshToken]):
    model = RefreshToken

    async def by_hash(self, token_hash: str) -> RefreshToken | None:
        return await self.get_one_or_none(
            select(RefreshToken).where(RefreshToken.token_hash == token_hash)
        )

    async def spend(self, token_id: str, at: datetime) -> bool:
        """Mark a token used; False when it was already spent (a concurrent or replayed use)."""
        result = await self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.id == token_id, RefreshToken.used_at.is_(None))
            .values(used_at=at)
        )
        return int(getattr(result, "rowcount", 0) or 0) == 1


class ApiKeyRepository(ScopedRepository[ApiKey]):
    model = ApiKey

    async def by_hash(self, key_hash: str) -> ApiKey | None:
        return await self.get_one_or_none(select(ApiKey).where(ApiKey.key_hash == key_hash))

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


class LoginThrottleRepository(Repository[LoginThrottle]):
    model = LoginThrottle

    async def for_email(self, email_hash: str) -> LoginThrottle | None:
        return await self.session.get(LoginThrottle, email_hash, populate_existing=True)

    async def clear(self, email_hash: str) -> None:
        throttle = await self.for_email(email_hash)
        if throttle is not None:
            await self.delete(throttle)

    async def count_locked(self, now: datetime) -> int:
        statement = select(func.count()).where(LoginThrottle.locked_until > now)
        return int((await self.session.execute(statement)).scalar_one())
