"""All SQL of identity: organizations, session families, refresh tokens, sign-in throttles."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update

from lexbase.auth.models import AuthSession, LoginThrottle, Organization, RefreshToken
from lexbase.core.repository import Repository
from lexbase.users.models import User


class OrganizationRepository(Repository[Organization]):
    model = Organization

    async def lock(self, organization_id: str) -> None:
        """Hold the organization's row until this transaction ends (SQLite's write lock
        already serializes every writer)."""
        await self.session.execute(
            select(Organization.id).where(Organization.id == organization_id).with_for_update()
        )


class SessionRepository(Repository[AuthSession]):
    model = AuthSession

    async def with_user(self, session_id: str) -> tuple[AuthSession, User] | None:
        """The sign-in session and its user, in one statement (every authenticated request
        asks this: one round trip, no transaction needed)."""
        statement = (
            select(AuthSession, User)
            .join(User, User.id == AuthSession.user_id)
            .where(AuthSession.id == session_id)
        )
        row = (await self.session.execute(statement)).one_or_none()
        return None if row is None else (row[0], row[1])

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
