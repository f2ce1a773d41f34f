"""Paging parameters are bounded: a deep or huge `offset` or `cursor` is a 422, never a 500."""

from __future__ import annotations

import base64

import httpx
import pytest

from lexbase.core.pagination import MAX_OFFSET, encode_cursor
from tests.api.test_envelope import assert_envelope
from tests.factories import Tenant

LISTS = [
    "/api/v1/documents",
    "/api/v1/users",
    "/api/v1/audit/events",
    "/api/v1/jobs",
    "/api/v1/matters",
    "/api/v1/api-keys",
]


def _raw_cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize("offset", [2**63, 2**64 + 5, MAX_OFFSET + 1])
async def test_offset_beyond_the_deepest_page_is_refused(
    client: httpx.AsyncClient, tenant: Tenant, offset: int
) -> None:
    for path in LISTS:
        response = await client.get(path, params={"offset": offset}, headers=tenant.admin.headers)

        error = assert_envelope(response, 422, "validation_error")
        assert [detail["loc"] for detail in error["details"]] == [["query", "offset"]], path
        assert error["details"][0]["type"] == "less_than_equal"


async def test_the_deepest_page_is_served(client: httpx.AsyncClient, tenant: Tenant) -> None:
    for path in LISTS:
        for params in ({"offset": MAX_OFFSET}, {"cursor": encode_cursor(MAX_OFFSET)}):
            response = await client.get(path, params=params, headers=tenant.admin.headers)

            assert response.status_code == 200, (path, response.text)
            body = response.json()
            assert body["items"] == [] and body["next_cursor"] is None
            expected = len(tenant.users) if path == "/api/v1/users" else body["total"]
            assert body["total"] == expected


@pytest.mark.parametrize(
    "cursor",
    [
        _raw_cursor(f"o:{2**63}"),
        _raw_cursor(f"o:{MAX_OFFSET + 1}"),
        _raw_cursor("o:" + "9" * 60),
        _raw_cursor("o:-1"),
        _raw_cursor("o: 5"),
        _raw_cursor("x:5"),
        "not base64 at all!",
    ],
)
async def test_cursor_beyond_the_deepest_page_or_malformed_is_refused(
    client: httpx.AsyncClient, tenant: Tenant, cursor: str
) -> None:
    for path in ("/api/v1/documents", "/api/v1/users", "/api/v1/audit/events"):
        response = await client.get(path, params={"cursor": cursor}, headers=tenant.admin.headers)

        error = assert_envelope(response, 422, "validation_error")
        assert error["message"] == "Invalid cursor"
        assert error["details"] == [{"loc": ["query", "cursor"], "message": "invalid cursor"}]


async def test_next_cursor_pages_through_and_stops(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    first = await client.get("/api/v1/users", params={"limit": 2}, headers=tenant.admin.headers)
    assert first.status_code == 200, first.text
    body = first.json()
    assert len(body["items"]) == 2 and body["total"] == len(tenant.users)
    seen = [user["id"] for user in body["items"]]
    while body["next_cursor"] is not None:
        page = await client.get(
            "/api/v1/users",
            params={"limit": 2, "cursor": body["next_cursor"]},
            headers=tenant.admin.headers,
        )
        assert page.status_code == 200, page.text
        body = page.json()
        seen += [user["id"] for user in body["items"]]
    assert sorted(seen) == sorted(user.id for user in tenant.users.values())
