"""Personal API keys: `lxb_` secrets, stored as digests, optional expiry and scopes."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from lexbase.apikeys.errors import ApiKeyNotFound, ExpiryInPast, KeyCannotMintKeys
from lexbase.apikeys.models import ApiKey
from lexbase.apikeys.repository import ApiKeyRepository
from lexbase.apikeys.schemas import ApiKeyCreate
from lexbase.audit.service import record
from lexbase.core.db import utcnow
from lexbase.core.events import access_changed
from lexbase.core.pagination import PageParams
from lexbase.core.principal import Principal
from lexbase.core.security import digest, new_api_key

DISPLAY_PREFIX_LENGTH = 12


class ApiKeyService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.keys = ApiKeyRepository(session)

    async def create(self, principal: Principal, body: ApiKeyCreate) -> tuple[ApiKey, str]:
        if principal.api_key_id is not None:
            raise KeyCannotMintKeys()
        if body.expires_at is not None and body.expires_at <= utcnow():
            raise ExpiryInPast(details=[{"loc": ["body", "expires_at"], "message": "in the past"}])
        secret = new_api_key()
        key = await self.keys.add(
            ApiKey(
                user_id=principal.user_id,
                organization_id=principal.organization_id,
                name=body.name,
                prefix=secret[:DISPLAY_PREFIX_LENGTH],
                key_hash=digest(secret),
                scopes=[s.value for s in body.scopes] if body.scopes is not None else None,
                expires_at=body.expires_at,
            )
        )
        await record(
            self.session,
            "api_key.created",
            principal,
            resource=("api_key", key.id),
            details={"name": key.name, "scopes": key.scopes, "prefix": key.prefix},
        )
        return key, secret

    async def list(self, principal: Principal, page: PageParams) -> tuple[Sequence[ApiKey], int]:
        statement = self.keys.owned_by(principal.user_id, principal.organization_id)
        return await self.keys.paginate(statement, limit=page.limit, offset=page.offset)

    async def get(self, principal: Principal, key_id: str) -> ApiKey:
        key = await self.keys.get_one_or_none(
            self.keys.owned_by(principal.user_id, principal.organization_id).where(
                ApiKey.id == key_id
            )
        )
        if key is None:
            raise ApiKeyNotFound()
        return key

    async def revoke(self, principal: Principal, key_id: str) -> None:
        key = await self.get(principal, key_id)
        if key.revoked_at is None:
            key.revoked_at = utcnow()
            await self.session.flush()
            access_changed(self.session, key.organization_id, user_id=key.user_id)
            await record(self.session, "api_key.revoked", principal, resource=("api_key", key.id))
