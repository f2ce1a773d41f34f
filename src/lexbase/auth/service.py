"""Sign-up, sign-in, token rotation, sign-out and self-service account changes."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from limits import parse
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession

from lexbase.apikeys.repository import ApiKeyRepository
from lexbase.audit.service import record
from lexbase.auth.errors import (
    AccountLocked,
    IncorrectPassword,
    InvalidCredentials,
    InvalidToken,
    OrganizationRequired,
    RegistrationClosed,
)
from lexbase.auth.models import AuthSession, LoginThrottle, Organization, RefreshToken
from lexbase.auth.passwords import check_password
from lexbase.auth.repository import (
    LoginThrottleRepository,
    OrganizationRepository,
    RefreshTokenRepository,
    SessionRepository,
)
from lexbase.auth.schemas import normalize_email
from lexbase.core.config import Settings
from lexbase.core.context import current_request
from lexbase.core.db import utcnow
from lexbase.core.errors import RateLimited
from lexbase.core.events import access_changed
from lexbase.core.permissions import Role
from lexbase.core.principal import Principal
from lexbase.core.security import (
    PasswordHashing,
    digest,
    issue_access_token,
    new_refresh_token,
    password_needs_rehash,
)
from lexbase.users.models import User
from lexbase.users.repository import UserRepository

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class IssuedTokens:
    access_token: str
    refresh_token: str
    expires_in: int
    user: User


class AuthService:
    def __init__(
        self, session: AsyncSession, settings: Settings, passwords: PasswordHashing
    ) -> None:
        self.session = session
        self.settings = settings
        self.passwords = passwords
        self.users = UserRepository(session)
        self.sessions = SessionRepository(session)
        self.refresh_tokens = RefreshTokenRepository(session)
        self.throttles = LoginThrottleRepository(session)

    # --- registration -----------------------------------------------------------------
    async def register(
        self, *, email: str, password: str, full_name: str, organization_name: str
    ) -> User:
        if not self.settings.registration_enabled:
            raise RegistrationClosed()
        # Always a new organization, so an address known to another firm is no obstacle and
        # the answer never tells whether it is.
        check_password(password, email=email, min_length=self.settings.password_min_length)
        organization = await OrganizationRepository(self.session).add(
            Organization(name=organization_name)
        )
        user = await self.users.add(
            User(
                organization_id=organization.id,
                email=email,
                full_name=full_name,
                role=Role.ADMIN.value,
                password_hash=await self.passwords.hash(password),
            )
        )
        await record(
            self.session,
            "organization.created",
            organization_id=organization.id,
            actor_id=user.id,
            resource=("organization", organization.id),
            details={"name": organization_name},
        )
        await record(
            self.session,
            "user.registered",
            organization_id=organization.id,
            actor_id=user.id,
            resource=("user", user.id),
            details={"email": email, "role": user.role},
        )
        return user

    # --- sign-in ----------------------------------------------------------------------
    async def login(
        self,
        email: str,
        password: str,
        ip_limiter: IpFailureLimiter,
        organization_id: str | None = None,
    ) -> IssuedTokens:
        """Sign in. An address may have accounts in several organizations: the password
        picks the account, and `organization_id` settles it when it opens more than one."""
        email = normalize_email(email)
        email_hash = digest(email)
        now = utcnow()
        throttle = await self.throttles.for_email(email_hash)
        if throttle is not None and throttle.locked_until and throttle.locked_until > now:
            raise _locked(throttle.locked_until, now)
        await ip_limiter.check()
        accounts = await self.users.all_by_email(email, organization_id)
        user = await self._account_for(accounts, password)
        if user is None:
            await self._record_failure(email, email_hash, throttle, accounts, now)
            await ip_limiter.hit()
            raise InvalidCredentials(keep_changes=True)
        if throttle is not None:
            await self.throttles.delete(throttle)
        if password_needs_rehash(user.password_hash):
            user.password_hash = await self.passwords.hash(password)
        user.last_login_at = now
        tokens = await self._start_session(user, now)
        await record(
            self.session,
            "auth.login",
            organization_id=user.organization_id,
            actor_id=user.id,
            resource=("user", user.id),
        )
        return tokens

    async def _account_for(self, accounts: Sequence[User], password: str) -> User | None:
        """The one active account this password opens. The hashes are checked side by side,
        and an unknown address costs one (dummy) check like a known one."""
        hashes: Sequence[str | None] = [a.password_hash for a in accounts] or [None]
        valid = await asyncio.gather(*(self.passwords.verify(password, h) for h in hashes))
        opened = [a for a, ok in zip(accounts, valid, strict=False) if ok and a.is_active]
        if len(opened) > 1:
            raise OrganizationRequired(
                details=[
                    {"loc": ["body", "organization_id"], "organization_id": a.organization_id}
                    for a in opened
                ]
            )
        return opened[0] if opened else None

    async def _record_failure(
        self,
        email: str,
        email_hash: str,
        throttle: LoginThrottle | None,
        accounts: Sequence[User],
        now: datetime,
    ) -> None:
        window = timedelta(minutes=self.settings.login_lockout_minutes)
        if throttle is None:
            throttle = await self.throttles.add(
                LoginThrottle(email_hash=email_hash, failures=0, first_failure_at=now)
            )
        elif throttle.first_failure_at < now - window:
            throttle.failures, throttle.first_failure_at, throttle.locked_until = 0, now, None
        throttle.failures += 1
        locked = throttle.failures >= self.settings.login_max_failures
        if locked:
            throttle.locked_until = now + window
        owners: Sequence[User | None] = accounts or [None]
        for user in owners:
            await record(
                self.session,
                "auth.login_failed",
                organization_id=user.organization_id if user else None,
                actor_id=user.id if user else None,
                actor_type="anonymous",
                resource=("user", user.id) if user else None,
                details={"email": email, "failures": throttle.failures, "locked": locked},
            )
        log.info("auth.login_failed", failures=throttle.failures, locked=locked)

    async def _start_session(self, user: User, now: datetime) -> IssuedTokens:
        context = current_request()
        family = await self.sessions.add(
            AuthSession(
                user_id=user.id,
                organization_id=user.organization_id,
                expires_at=now + timedelta(days=self.settings.refresh_token_days),
                ip=context.ip,
                user_agent=context.user_agent,
            )
        )
        return await self._issue(user, family, now)

    async def _issue(self, user: User, family: AuthSession, now: datetime) -> IssuedTokens:
        refresh = new_refresh_token()
        await self.refresh_tokens.add(
            RefreshToken(
                session_id=family.id, token_hash=digest(refresh), expires_at=family.expires_at
            )
        )
        access, expires_in = issue_access_token(
            self.settings,
            user_id=user.id,
            organization_id=user.organization_id,
            session_id=family.id,
        )
        family.last_used_at = now
        return IssuedTokens(access, refresh, expires_in, user)

    # --- rotation ---------------------------------------------------------------------
    async def refresh(self, presented: str) -> IssuedTokens:
        now = utcnow()
        token = await self.refresh_tokens.by_hash(digest(presented))
        if token is None:
            raise InvalidToken()
        family = await self.sessions.get(token.session_id)
        if family is None or family.revoked_at is not None or family.expires_at <= now:
            raise InvalidToken()
        if token.used_at is not None or not await self.refresh_tokens.spend(token.id, now):
            await self._revoke_replayed_family(family, now)
            raise InvalidToken(
                "Refresh token was already used; the session is revoked", keep_changes=True
            )
        user = await self.users.get(family.user_id)
        if user is None or not user.is_active:
            raise InvalidToken()
        return await self._issue(user, family, now)

    async def _revoke_replayed_family(self, family: AuthSession, now: datetime) -> None:
        # A spent token coming back means it was copied: end every token of the family.
        await self.sessions.revoke(family.id, "refresh_token_reuse", now)
        access_changed(self.session, family.organization_id, user_id=family.user_id)
        await record(
            self.session,
            "auth.token_reuse_detected",
            organization_id=family.organization_id,
            actor_id=family.user_id,
            actor_type="anonymous",
            resource=("session", family.id),
        )
        log.warning("auth.token_reuse_detected", session_id=family.id)

    # --- sign-out and account changes ---------------------------------------------------
    async def logout(self, principal: Principal) -> None:
        if principal.session_id is None:
            return  # an API key has no session; revoke the key instead
        await self.sessions.revoke(principal.session_id, "logout", utcnow())
        access_changed(self.session, principal.organization_id, user_id=principal.user_id)
        await record(
            self.session, "auth.logout", principal, resource=("session", principal.session_id)
        )

    async def change_password(self, principal: Principal, current: str, new: str) -> None:
        user = await self.users.get(principal.user_id)
        if user is None or not await self.passwords.verify(current, user.password_hash):
            raise IncorrectPassword()
        check_password(new, email=user.email, min_length=self.settings.password_min_length)
        now = utcnow()
        user.password_hash = await self.passwords.hash(new)
        user.password_changed_at = now
        # A new password usually means the old one leaked: every session and every API key
        # of the account ends with it.
        revoked = await self.sessions.revoke_all_for_user(user.id, "password_changed", now)
        keys = await ApiKeyRepository(self.session).revoke_all_for_user(user.id, now)
        access_changed(self.session, user.organization_id, user_id=user.id)
        await record(
            self.session,
            "auth.password_changed",
            principal,
            resource=("user", user.id),
            details={"sessions_revoked": revoked, "api_keys_revoked": keys},
        )

    async def update_profile(self, principal: Principal, full_name: str) -> User:
        user = await self.users.get(principal.user_id)
        if user is None:
            raise InvalidToken()
        user.full_name = full_name
        await record(self.session, "user.profile_updated", principal, resource=("user", user.id))
        return user

    async def me(self, principal: Principal) -> User:
        user = await self.users.get(principal.user_id)
        if user is None:
            raise InvalidToken()
        return user


def _locked(until: datetime, now: datetime) -> AccountLocked:
    retry_after = max(1, math.ceil((until - now).total_seconds()))
    return AccountLocked(headers={"Retry-After": str(retry_after)})


class IpFailureLimiter:
    """Failed sign-ins per client address, counted in the rate-limit store."""

    def __init__(self, storage: Storage, settings: Settings, ip: str | None) -> None:
        self.enabled = settings.rate_limit_enabled
        self.limiter = MovingWindowRateLimiter(storage)
        self.item = parse(settings.login_failures_per_ip)
        self.key = ip or "unknown"

    async def check(self) -> None:
        if not self.enabled:
            return
        try:
            allowed = await self.limiter.test(self.item, "login_failures", self.key)
            stats = await self.limiter.get_window_stats(self.item, "login_failures", self.key)
        except (RedisError, OSError) as exc:  # the store is down: account lockout still protects
            log.warning("auth.ip_limiter_unavailable", error_type=type(exc).__name__)
            return
        if not allowed:
            retry_after = max(1, math.ceil(stats.reset_time - utcnow().timestamp()))
            raise RateLimited(
                "Too many failed sign-ins from this address",
                headers={"Retry-After": str(retry_after)},
            )

    async def hit(self) -> None:
        if not self.enabled:
            return
        try:
            await self.limiter.hit(self.item, "login_failures", self.key)
        except (RedisError, OSError) as exc:  # see check()
            log.warning("auth.ip_limiter_unavailable", error_type=type(exc).__name__)
