"""Authentication dependencies: resolve the caller to a `Principal`, then gate by permission.

@router.post("/matters")
async def create(principal: Writer, session: SessionDep) -> ...
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import replace
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from lexbase.apikeys.models import ApiKey
from lexbase.apikeys.repository import ApiKeyRepository
from lexbase.auth.errors import InvalidToken, PermissionDenied
from lexbase.auth.identity import VERIFIED_CLAIMS
from lexbase.auth.models import AuthSession
from lexbase.auth.repository import SessionRepository
from lexbase.core.config import Settings
from lexbase.core.db import transaction, utcnow
from lexbase.core.deps import ResourcesDep, SettingsDep
from lexbase.core.permissions import Permission, Role, Scope
from lexbase.core.principal import Principal
from lexbase.core.security import (
    API_KEY_PREFIX,
    AccessClaims,
    InvalidTokenError,
    decode_access_token,
    digest,
)
from lexbase.users.models import User
from lexbase.users.repository import UserRepository

_bearer = HTTPBearer(auto_error=False, description="Access JWT or API key (lxb_…)")
_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False)


async def _from_api_key(session: AsyncSession, key: str) -> Principal:
    found = await ApiKeyRepository(session).with_owner(digest(key))
    if found is None or found[0].revoked_at is not None:
        raise InvalidToken()
    api_key, user = found
    if not _live_key(api_key, utcnow()):
        raise InvalidToken("API key has expired")
    _require_active(user, api_key.organization_id)
    scopes = frozenset(Scope(s) for s in api_key.scopes) if api_key.scopes is not None else None
    return Principal(
        user_id=user.id,
        organization_id=user.organization_id,
        role=Role(user.role),
        api_key_id=api_key.id,
        scopes=scopes,
        expires_at=api_key.expires_at,
        is_operator=user.is_operator,
    )


async def _from_access_token(
    session: AsyncSession, settings: Settings, token: str, verified: AccessClaims | None = None
) -> Principal:
    """`verified`: the token's claims when this request already checked its signature."""
    try:
        claims = verified or decode_access_token(settings, token)
    except InvalidTokenError:
        raise InvalidToken() from None
    found = await SessionRepository(session).with_user(claims.session_id)
    if found is None or not _live_session(found[0], claims.user_id, utcnow()):
        raise InvalidToken()
    auth_session, user = found
    _require_active(user, claims.organization_id)
    return Principal(
        user_id=user.id,
        organization_id=user.organization_id,
        role=Role(user.role),
        session_id=auth_session.id,
        expires_at=min(claims.expires_at, auth_session.expires_at),
        is_operator=user.is_operator,
    )


async def reauthenticate(session: AsyncSession, origin: Principal) -> Principal:
    """`origin` as it stands now, for work done later on a caller's behalf (a job): the user
    still active in the same organization, with the role they have now; the sign-in session
    not ended or the API key not revoked or expired. `InvalidToken` otherwise — a job asked
    for before a logout, a demotion or a revoked key does not outlive it."""
    now = utcnow()
    if origin.api_key_id is not None:
        api_key = await ApiKeyRepository(session).get(origin.api_key_id)
        if (
            api_key is None
            or api_key.user_id != origin.user_id
            or api_key.revoked_at is not None
            or not _live_key(api_key, now)
        ):
            raise InvalidToken()
    elif origin.session_id is not None:
        auth_session = await SessionRepository(session).get(origin.session_id)
        if auth_session is None or not _live_session(auth_session, origin.user_id, now):
            raise InvalidToken()
    user = await _active_user(session, origin.user_id, origin.organization_id)
    return replace(origin, role=Role(user.role), is_operator=user.is_operator)


async def acting_for(
    session: AsyncSession, requester: dict[str, Any], permission: Permission
) -> Principal | None:
    """Who asked for deferred work (`Principal.as_requester`), as they stand now — None when
    they may no longer do it (signed out, demoted, deactivated, their key revoked)."""
    try:
        principal = await reauthenticate(session, Principal.of_requester(requester))
    except InvalidToken:
        return None
    return principal if principal.can(permission) else None


def _live_key(api_key: ApiKey, now: datetime) -> bool:
    return api_key.expires_at is None or api_key.expires_at > now


def _live_session(auth_session: AuthSession, user_id: str, now: datetime) -> bool:
    return (
        auth_session.revoked_at is None
        and auth_session.user_id == user_id
        and auth_session.expires_at > now
    )


async def _active_user(session: AsyncSession, user_id: str, organization_id: str) -> User:
    user = await UserRepository(session).get(user_id)
    _require_active(user, organization_id)
    assert user is not None
    return user


def _require_active(user: User | None, organization_id: str) -> None:
    if user is None or not user.is_active or user.organization_id != organization_id:
        raise InvalidToken()


async def authenticate(session: AsyncSession, settings: Settings, credential: str) -> Principal:
    """Resolve an access token or API key (as sent outside an Authorization header)."""
    credential = credential.strip()
    if credential.startswith(API_KEY_PREFIX):
        return await _from_api_key(session, credential)
    return await _from_access_token(session, settings, credential)


async def get_principal(
    request: Request,
    resources: ResourcesDep,
    settings: SettingsDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    api_key: Annotated[str | None, Depends(_api_key_header)],
) -> Principal:
    if api_key:
        credential, resolve = api_key.strip(), _from_api_key
    elif bearer is not None and bearer.scheme.lower() == "bearer" and bearer.credentials:
        credential, resolve = bearer.credentials, None
    else:
        raise InvalidToken("Authentication required")
    # One statement of its own, ended before the route runs: sharing the route's session
    # would make every POST hold SQLite's write lock for the whole request, even a read-only
    # one such as search. Each lookup reads one joined row, so it needs no transaction.
    async with transaction(resources.statement_reads) as session:
        if resolve is not None:
            principal = await resolve(session, credential)
        elif credential.strip().startswith(API_KEY_PREFIX):  # a key sent as a bearer token
            principal = await _from_api_key(session, credential.strip())
        else:
            principal = await _from_access_token(
                session, settings, credential.strip(), _verified(request, credential.strip())
            )
    request.state.principal = principal
    return principal


def _verified(request: Request, token: str) -> AccessClaims | None:
    """The claims of `token` if the rate limiter verified this very token for this request."""
    checked = getattr(request.state, VERIFIED_CLAIMS, None)
    if isinstance(checked, tuple) and checked[0] == token:
        claims: AccessClaims = checked[1]
        return claims
    return None


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def require(permission: Permission) -> Callable[..., Coroutine[Any, Any, Principal]]:
    async def dependency(principal: CurrentPrincipal) -> Principal:
        if not principal.can(permission):
            raise PermissionDenied()
        return principal

    dependency.__name__ = f"require_{permission.value}"
    return dependency


Reader = Annotated[Principal, Depends(require(Permission.READ))]
Writer = Annotated[Principal, Depends(require(Permission.WRITE))]
WallManager = Annotated[Principal, Depends(require(Permission.MANAGE_WALLS))]
UserManager = Annotated[Principal, Depends(require(Permission.MANAGE_USERS))]
AuditReader = Annotated[Principal, Depends(require(Permission.READ_AUDIT))]
Operator = Annotated[Principal, Depends(require(Permission.VIEW_OPERATIONS))]
AccountManager = Annotated[Principal, Depends(require(Permission.MANAGE_ACCOUNT))]
OrganizationManager = Annotated[Principal, Depends(require(Permission.MANAGE_ORGANIZATION))]
AnalyticsReader = Annotated[Principal, Depends(require(Permission.VIEW_ANALYTICS))]
