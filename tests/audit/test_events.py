"""GET /audit/events: the organization's own trail, newest first, filtered and paginated."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest

from lexbase.audit.models import GENESIS_HASH
from lexbase.core.permissions import Role
from tests.audit.conftest import AuditLog
from tests.factories import Tenant

EVENTS = "/api/v1/audit/events"


async def _ids(client: httpx.AsyncClient, tenant: Tenant, **params: Any) -> tuple[list[str], int]:
    response = await client.get(EVENTS, params=params, headers=tenant.admin.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    return [item["id"] for item in body["items"]], body["total"]


async def test_items_carry_every_field_newest_first(
    client: httpx.AsyncClient, tenant: Tenant, audit_log: AuditLog
) -> None:
    first = await audit_log.record(
        tenant.organization_id,
        "document.uploaded",
        actor_id=tenant.admin.id,
        resource=("document", "doc-1"),
        details={"size_bytes": 1024, "filename": "brief.pdf"},
    )
    second = await audit_log.record(tenant.organization_id, "document.deleted")

    response = await client.get(EVENTS, headers=tenant.admin.headers)

    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 2 and body["next_cursor"] is None
    newest, oldest = body["items"]
    assert datetime.fromisoformat(oldest.pop("created_at")) == first.created_at
    assert oldest == {
        "id": first.id,
        "seq": 1,
        "event_type": "document.uploaded",
        "actor_id": tenant.admin.id,
        "actor_type": "user",
        "resource_type": "document",
        "resource_id": "doc-1",
        "ip": None,
        "request_id": None,
        "details": {"size_bytes": 1024, "filename": "brief.pdf"},
        "prev_hash": GENESIS_HASH,
        "hash": first.hash,
        "organization_id": tenant.organization_id,
    }
    assert newest["id"] == second.id and newest["seq"] == 2
    assert newest["prev_hash"] == first.hash
    assert newest["actor_id"] is None and newest["actor_type"] == "system"


async def test_filters_narrow_by_type_actor_resource_and_time(
    client: httpx.AsyncClient, tenant: Tenant, audit_log: AuditLog
) -> None:
    org, admin, attorney = tenant.organization_id, tenant.admin.id, tenant[Role.ATTORNEY].id
    e1 = await audit_log.record(org, "matter.created", actor_id=admin, resource=("matter", "m-1"))
    e2 = await audit_log.record(
        org, "document.uploaded", actor_id=attorney, resource=("document", "d-1")
    )
    e3 = await audit_log.record(org, "matter.updated", actor_id=admin, resource=("matter", "m-1"))
    e4 = await audit_log.record(
        org, "document.uploaded", actor_id=admin, resource=("document", "d-2")
    )

    assert await _ids(client, tenant, event_type="document.uploaded") == ([e4.id, e2.id], 2)
    assert await _ids(client, tenant, user_id=attorney) == ([e2.id], 1)
    assert await _ids(client, tenant, resource_id="m-1") == ([e3.id, e1.id], 2)
    assert await _ids(client, tenant, event_type="document.uploaded", user_id=admin) == (
        [e4.id],
        1,
    )
    assert await _ids(client, tenant, event_type="nothing.happened") == ([], 0)

    # `from` is inclusive and `to` exclusive, so adjacent windows never count an event twice.
    assert await _ids(client, tenant, **{"from": e2.created_at.isoformat()}) == (
        [e4.id, e3.id, e2.id],
        3,
    )
    assert await _ids(client, tenant, to=e3.created_at.isoformat()) == ([e2.id, e1.id], 2)
    window = {"from": e2.created_at.isoformat(), "to": e4.created_at.isoformat()}
    assert await _ids(client, tenant, **window) == ([e3.id, e2.id], 2)


async def test_timestamps_without_offset_or_with_z_are_utc(
    client: httpx.AsyncClient, tenant: Tenant, audit_log: AuditLog
) -> None:
    _, second, third = await audit_log.record_many(tenant.organization_id, 3)
    naive = second.created_at.replace(tzinfo=None).isoformat()
    zulu = third.created_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    assert await _ids(client, tenant, **{"from": naive}) == ([third.id, second.id], 2)
    assert await _ids(client, tenant, **{"from": naive, "to": zulu}) == ([second.id], 1)


async def test_pages_follow_next_cursor_to_the_oldest(
    client: httpx.AsyncClient, tenant: Tenant, audit_log: AuditLog
) -> None:
    events = await audit_log.record_many(tenant.organization_id, 5)
    seen: list[int] = []
    params: dict[str, Any] = {"limit": 2}
    for _ in range(3):
        body = (await client.get(EVENTS, params=params, headers=tenant.admin.headers)).json()
        assert body["total"] == 5
        seen.extend(item["seq"] for item in body["items"])
        params = {"limit": 2, "cursor": body["next_cursor"]}
    assert seen == [5, 4, 3, 2, 1]
    assert body["next_cursor"] is None

    assert await _ids(client, tenant, limit=2, offset=3) == ([events[1].id, events[0].id], 5)


@pytest.mark.parametrize(
    ("params", "location"),
    [
        ({"cursor": "not-a-cursor"}, None),
        ({"limit": 101}, ["query", "limit"]),
        ({"from": "yesterday"}, ["query", "from"]),
        ({"from": "2030-01-02T00:00:00Z", "to": "2030-01-01T00:00:00Z"}, ["query", "from"]),
        ({"user_id": "u" * 37}, ["query", "user_id"]),
    ],
)
async def test_bad_query_is_a_validation_error(
    client: httpx.AsyncClient, tenant: Tenant, params: dict[str, Any], location: list[str] | None
) -> None:
    response = await client.get(EVENTS, params=params, headers=tenant.admin.headers)

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    if location is not None:
        assert [detail["loc"] for detail in error["details"]] == [location]


@pytest.mark.parametrize("path", ["/audit/events", "/audit/export", "/audit/verify"])
async def test_only_admins_read_the_trail(
    client: httpx.AsyncClient, tenant: Tenant, audit_log: AuditLog, path: str
) -> None:
    await audit_log.record(tenant.organization_id)

    anonymous = await client.get(f"/api/v1{path}")
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "unauthorized"
    for role in (Role.ATTORNEY, Role.PARALEGAL, Role.VIEWER):
        response = await client.get(f"/api/v1{path}", headers=tenant[role].headers)
        assert response.status_code == 403, role
        assert response.json()["error"]["code"] == "forbidden"


async def test_another_organization_sees_only_its_own_trail(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant, audit_log: AuditLog
) -> None:
    ours = await audit_log.record(
        tenant.organization_id, actor_id=tenant.admin.id, resource=("matter", "m-1")
    )

    assert await _ids(client, other_tenant) == ([], 0)
    assert await _ids(client, other_tenant, resource_id="m-1") == ([], 0)
    assert await _ids(client, other_tenant, user_id=tenant.admin.id) == ([], 0)

    theirs = await audit_log.record(other_tenant.organization_id, resource=("matter", "m-1"))

    assert await _ids(client, other_tenant) == ([theirs.id], 1)
    assert await _ids(client, tenant) == ([ours.id], 1)
    body = (await client.get(EVENTS, headers=other_tenant.admin.headers)).json()
    assert body["items"][0]["organization_id"] == other_tenant.organization_id
    assert body["items"][0]["seq"] == 1  # each organization's chain starts at 1
