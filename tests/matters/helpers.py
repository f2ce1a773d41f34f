"""Shared steps of the matters tests: data made over HTTP, facts read from the database."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select, update

from lexbase.audit.models import AuditEvent
from lexbase.core.config import Settings
from lexbase.core.db import create_engine, create_sessionmaker, transaction
from lexbase.core.permissions import Role
from lexbase.users.models import User
from tests.api.test_envelope import assert_envelope
from tests.factories import Tenant, TestUser
from tests.factories import add_user as add_user_in_session

API = "/api/v1"
MISSING_ID = "00000000-0000-4000-8000-000000000000"


async def create_client(http: httpx.AsyncClient, user: TestUser, **fields: Any) -> dict[str, Any]:
    response = await http.post(
        f"{API}/clients", json={"name": "Acme Corp", **fields}, headers=user.headers
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def create_matter(http: httpx.AsyncClient, user: TestUser, **fields: Any) -> dict[str, Any]:
    response = await http.post(
        f"{API}/matters", json={"name": "Acme v. Globex", **fields}, headers=user.headers
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def add_member(
    http: httpx.AsyncClient, manager: TestUser, matter_id: str, user_id: str
) -> dict[str, Any]:
    response = await http.post(
        f"{API}/matters/{matter_id}/members", json={"user_id": user_id}, headers=manager.headers
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def visible_matter_ids(http: httpx.AsyncClient, user: TestUser) -> tuple[set[str], int]:
    """The ids in the caller's matter list and the total it reports."""
    response = await http.get(f"{API}/matters", params={"limit": 100}, headers=user.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    return {item["id"] for item in body["items"]}, body["total"]


async def add_user(
    settings: Settings, tenant: Tenant, role: Role, *, active: bool = True
) -> TestUser:
    """One more user in the tenant (the fixture holds one per role)."""
    engine = create_engine(settings)
    try:
        async with transaction(create_sessionmaker(engine, write=True)) as session:
            user = await add_user_in_session(
                session, settings, tenant.organization_id, role, label="Two"
            )
            if not active:
                await session.execute(
                    update(User).where(User.id == user.id).values(is_active=False)
                )
    finally:
        await engine.dispose()
    return user


async def audit_events(settings: Settings, resource_id: str) -> list[AuditEvent]:
    """Audit events about one resource, oldest first (read directly: the audit API is
    another domain's)."""
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            result = await session.execute(
                select(AuditEvent)
                .where(AuditEvent.resource_id == resource_id)
                .order_by(AuditEvent.seq)
            )
            return list(result.scalars())
    finally:
        await engine.dispose()


async def assert_hidden(http: httpx.AsyncClient, user: TestUser, matter_id: str) -> None:
    """The matter answers exactly like an id that never existed, on every route."""
    url = f"{API}/matters/{matter_id}"
    headers = user.headers
    hidden = assert_envelope(await http.get(url, headers=headers), 404, "not_found")
    missing = await http.get(f"{API}/matters/{MISSING_ID}", headers=headers)
    assert hidden["message"] == missing.json()["error"]["message"]
    ids, _ = await visible_matter_ids(http, user)
    assert matter_id not in ids
    if user.role is Role.VIEWER:
        return
    patch = await http.patch(url, json={"name": "Peek"}, headers=headers)
    assert_envelope(patch, 404, "not_found")
    if user.role is Role.PARALEGAL:
        return
    assert_envelope(await http.delete(url, headers=headers), 404, "not_found")
    add = await http.post(f"{url}/members", json={"user_id": user.id}, headers=headers)
    assert_envelope(add, 404, "not_found")
    remove = await http.delete(f"{url}/members/{user.id}", headers=headers)
    assert_envelope(remove, 404, "not_found")
