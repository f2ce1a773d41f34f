"""The audit `from`/`to` filters: any instant whose UTC value exists is served, others are 422."""

from __future__ import annotations

import httpx
import pytest

from tests.api.test_envelope import assert_envelope
from tests.audit.conftest import AuditLog
from tests.factories import Tenant

ROUTES = ("/api/v1/audit/events", "/api/v1/audit/export")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("from", "0001-01-01T00:00+14:00"),
        ("to", "0001-01-01T00:00:00+00:01"),
        ("to", "9999-12-31T23:59-14:00"),
        ("from", "9999-12-31T23:59:59.999999-00:01"),
    ],
)
async def test_an_instant_outside_the_utc_calendar_is_refused(
    client: httpx.AsyncClient, tenant: Tenant, name: str, value: str
) -> None:
    for route in ROUTES:
        response = await client.get(route, params={name: value}, headers=tenant.admin.headers)

        error = assert_envelope(response, 422, "validation_error")
        assert [detail["loc"] for detail in error["details"]] == [["query", name]], route
        assert "years 1 to 9999" in error["details"][0]["message"]


@pytest.mark.parametrize("value", ["not-a-date", "10000-01-01T00:00Z", "2024-13-01T00:00Z"])
async def test_an_unparsable_instant_is_refused(
    client: httpx.AsyncClient, tenant: Tenant, value: str
) -> None:
    response = await client.get(ROUTES[0], params={"from": value}, headers=tenant.admin.headers)

    error = assert_envelope(response, 422, "validation_error")
    assert [detail["loc"] for detail in error["details"]] == [["query", "from"]]


async def test_the_widest_window_is_served_on_both_databases(
    client: httpx.AsyncClient, tenant: Tenant, audit_log: AuditLog
) -> None:
    event = await audit_log.record(tenant.organization_id, "matter.created")
    widest = {"from": "0001-01-01T00:00:00Z", "to": "9999-12-31T23:59:59.999999Z"}
    shifted = {"from": "0001-01-01T00:00-01:00", "to": "9999-12-31T23:59+01:00"}

    for params in (widest, shifted):
        listed = await client.get(ROUTES[0], params=params, headers=tenant.admin.headers)
        assert listed.status_code == 200, listed.text
        assert [item["id"] for item in listed.json()["items"]] == [event.id]
        exported = await client.get(ROUTES[1], params=params, headers=tenant.admin.headers)
        assert exported.status_code == 200, exported.text
        assert event.id in exported.text

    # Both ends are kept, not clamped: a window ending in year 1 holds nothing.
    ancient = await client.get(
        ROUTES[0], params={"to": "0001-01-02T00:00Z"}, headers=tenant.admin.headers
    )
    assert ancient.status_code == 200, ancient.text
    assert ancient.json() == {"items": [], "total": 0, "next_cursor": None}
