"""The principal dependency accepts factory-made tokens (guards the fixtures themselves)."""

from __future__ import annotations

import httpx
from fastapi import APIRouter

from lexbase.app import create_app
from lexbase.auth.deps import CurrentPrincipal
from tests.conftest import SettingsFactory, running
from tests.factories import Tenant

whoami = APIRouter()


@whoami.get("/api/v1/_whoami")
async def who(principal: CurrentPrincipal) -> dict[str, str]:
    return {"user_id": principal.user_id, "org": principal.organization_id, "role": principal.role}


async def test_factory_tokens_authenticate(make_settings: SettingsFactory, tenant: Tenant) -> None:
    app = create_app(make_settings())
    app.include_router(whoami)
    async with running(app) as c:
        for role, user in tenant.users.items():
            body = (await c.get("/api/v1/_whoami", headers=user.headers)).json()
            assert body == {"user_id": user.id, "org": tenant.organization_id, "role": role.value}
        anonymous: httpx.Response = await c.get("/api/v1/_whoami")
        assert anonymous.status_code == 401
        assert anonymous.json()["error"]["code"] == "unauthorized"
