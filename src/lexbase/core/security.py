"""Password hashing (Argon2id), access JWTs (HS256, pinned) and opaque secrets."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from lexbase.core.config import Settings
from lexbase.core.db import utcnow

JWT_ALGORITHM = "HS256"  # pinned: tokens naming any other algorithm are refused
ACCESS_TOKEN_TYPE = "access"  # noqa: S105 - a claim value, not a secret
API_KEY_PREFIX = "lxb_"
REFRESH_TOKEN_PREFIX = "lxr_"  # noqa: S105 - a prefix, not a secret

_hasher = PasswordHasher()
# Verified against when the email is unknown, so both paths cost the same time.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def password_needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


class PasswordHashing:
    """Argon2 off the event loop. Each hash takes tens of milliseconds of CPU and a good deal
    of memory, so a few threads do them and callers queue: sign-ins can neither stall other
    requests nor make the process run unbounded hashes at once."""

    def __init__(self, threads: int) -> None:
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="argon2")

    async def hash(self, password: str) -> str:
        return await asyncio.get_running_loop().run_in_executor(self._pool, hash_password, password)

    async def verify(self, password: str, password_hash: str | None) -> bool:
        return await asyncio.get_running_loop().run_in_executor(
            self._pool, verify_password, password, password_hash
        )

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def digest(secret: str) -> str:
    """Lookup digest of a high-entropy token (refresh tokens, API keys)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_refresh_token() -> str:
    return REFRESH_TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class AccessClaims:
    user_id: str
    organization_id: str
    session_id: str
    jti: str
    expires_at: datetime


class InvalidTokenError(Exception):
    pass


def issue_access_token(
    settings: Settings, *, user_id: str, organization_id: str, session_id: str
) -> tuple[str, int]:
    now = utcnow()
    lifetime = timedelta(minutes=settings.access_token_minutes)
    payload: dict[str, Any] = {
        "sub": user_id,
        "org": organization_id,
        "sid": session_id,
        "typ": ACCESS_TOKEN_TYPE,
        "jti": uuid.uuid4().hex,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()),
        "exp": int((now + lifetime).timestamp()),
    }
    token = jwt.encode(payload, settings.secret_key.get_secret_value(), algorithm=JWT_ALGORITHM)
    return token, int(lifetime.total_seconds())


def decode_access_token(settings: Settings, token: str) -> AccessClaims:
    try:
        payload = jwt.decode(
            token,
            settings.secret_key.get_secret_value(),
            algorithms=[JWT_ALGORITHM],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": ["exp", "iat", "iss", "aud", "sub", "jti"]},
            leeway=5,
        )
    except jwt.PyJWTError as exc:
        raise InvalidTokenError(type(exc).__name__) from None
    if payload.get("typ") != ACCESS_TOKEN_TYPE:
        raise InvalidTokenError("not an access token")
    for claim in ("org", "sid"):
        if not isinstance(payload.get(claim), str):
            raise InvalidTokenError(f"missing {claim}")

    return AccessClaims(
        user_id=str(payload["sub"]),
        organization_id=payload["org"],
        session_id=payload["sid"],
        jti=str(payload["jti"]),
        expires_at=datetime.fromtimestamp(int(payload["exp"]), tz=UTC),
    )
