"""Who a request's credential verifiably belongs to, cheaply, for rate limiting.

An access token is checked by its signature alone; an API key by its digest, remembered for
a minute. A credential that does not verify belongs to no one, so its requests count against
the client's address (core/ratelimit.py). Authentication proper — sessions, revocation,
account state — stays with the route's dependency (auth/deps.py).
"""

from __future__ import annotations

import time
from collections import OrderedDict

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.types import Scope

from lexbase.apikeys.repository import ApiKeyRepository
from lexbase.core.config import Settings
from lexbase.core.db import utcnow
from lexbase.core.security import API_KEY_PREFIX, InvalidTokenError, decode_access_token, digest

_TTL_SECONDS = 60.0
# Request state key: (token, its verified claims), set when the rate limiter checked them.
VERIFIED_CLAIMS = "lexbase_verified_claims"
_MAX_ENTRIES = 10_000


class CredentialOwners:
    def __init__(self, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        self._owners: OrderedDict[str, tuple[str, float]] = OrderedDict()

    async def __call__(self, scope: Scope) -> str | None:
        credential = _credential(scope)
        if not credential:
            return None
        if credential.startswith(API_KEY_PREFIX):
            owner = await self._key_owner(credential)
        else:
            try:
                claims = decode_access_token(self.settings, credential)
            except InvalidTokenError:
                owner = None
            else:
                owner = claims.user_id
                # Verified once per request: authentication reads them from here.
                scope.setdefault("state", {})[VERIFIED_CLAIMS] = (credential, claims)
        return f"user:{owner}" if owner else None

    async def _key_owner(self, key: str) -> str | None:
        key_hash = digest(key)
        now = time.monotonic()
        cached = self._owners.get(key_hash)
        if cached is not None and cached[1] > now:
            self._owners.move_to_end(key_hash)
            return cached[0]
        async with self.sessionmaker() as session:
            owner = await ApiKeyRepository(session).active_owner(key_hash, utcnow())
        if owner is None:
            self._owners.pop(key_hash, None)
            return None
        self._owners[key_hash] = (owner, now + _TTL_SECONDS)
        if len(self._owners) > _MAX_ENTRIES:
            self._owners.popitem(last=False)
        return owner


def _credential(scope: Scope) -> str | None:
    authorization = None
    for name, value in scope.get("headers", ()):
        if name == b"x-api-key":
            return value.decode("latin-1").strip() or None
        if name == b"authorization":
            authorization = value.decode("latin-1")
    if authorization is None:
        return None
    scheme, _, token = authorization.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None
