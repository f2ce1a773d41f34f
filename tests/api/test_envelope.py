"""Black-box checks of the cross-cutting HTTP contract (API.md: Conventions)."""

from __future__ import annotations

import gzip
import json
from typing import Any

import httpx
import pytest
from fastapi import APIRouter
from pydantic import BaseModel

from lexbase.app import create_app
from tests.conftest import SettingsFactory, running


def assert_envelope(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    error = body["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    assert error["request_id"] == response.headers["X-Request-ID"]
    assert isinstance(error["details"], list)
    return dict(error)


class Echo(BaseModel):
    name: str
    count: int


probe = APIRouter(prefix="/api/v1/_probe")


@probe.post("/echo")
async def echo(payload: Echo) -> Echo:
    return payload


@probe.get("/boom")
async def boom() -> None:
    raise RuntimeError("database password is hunter2")


@probe.get("/big")
async def big() -> dict[str, str]:
    return {"text": "lexbase " * 2000}


@pytest.fixture
async def probe_client(make_settings: SettingsFactory) -> Any:
    app = create_app(make_settings(max_request_mb=1))
    app.include_router(probe)
    async with running(app) as c:
        yield c


async def test_unknown_route_is_enveloped_404(client: httpx.AsyncClient) -> None:
    error = assert_envelope(await client.get("/api/v1/no-such-thing"), 404, "not_found")
    assert error["message"] == "Route not found"


async def test_wrong_method_is_enveloped_405(client: httpx.AsyncClient) -> None:
    response = await client.delete("/health")
    assert_envelope(response, 405, "method_not_allowed")
    assert "GET" in response.headers["allow"]


async def test_request_id_echoed_when_valid(client: httpx.AsyncClient) -> None:
    response = await client.get("/health", headers={"X-Request-ID": "trace-abc.123:XYZ"})
    assert response.headers["X-Request-ID"] == "trace-abc.123:XYZ"


@pytest.mark.parametrize("bad", ["", "a" * 200, "has space", "semi;colon", "<script>"])
async def test_request_id_replaced_when_invalid(client: httpx.AsyncClient, bad: str) -> None:
    response = await client.get("/health", headers={"X-Request-ID": bad})
    generated = response.headers["X-Request-ID"]
    assert generated != bad
    assert len(generated) == 32 and all(ch in "0123456789abcdef" for ch in generated)


async def test_each_request_gets_a_distinct_id(client: httpx.AsyncClient) -> None:
    ids = {(await client.get("/health/live")).headers["X-Request-ID"] for _ in range(5)}
    assert len(ids) == 5


async def test_malformed_json_is_422(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.post(
        "/api/v1/_probe/echo",
        content=b'{"name": "x", ',
        headers={"content-type": "application/json"},
    )
    error = assert_envelope(response, 422, "validation_error")
    assert error["message"] == "Request body is not valid JSON"


async def test_wrong_types_are_422_with_field_details(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.post("/api/v1/_probe/echo", json={"name": "x", "count": "many"})
    error = assert_envelope(response, 422, "validation_error")
    assert ["body", "count"] in [detail["loc"] for detail in error["details"]]


async def test_valid_body_round_trips(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.post("/api/v1/_probe/echo", json={"name": "x", "count": 3})
    assert response.status_code == 200
    assert response.json() == {"name": "x", "count": 3}


async def test_unexpected_error_is_500_without_leaking(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.get("/api/v1/_probe/boom")
    error = assert_envelope(response, 500, "internal_error")
    assert "hunter2" not in response.text
    assert "RuntimeError" not in response.text
    assert error["message"] == "Internal server error"


async def test_oversized_body_by_content_length_is_413(probe_client: httpx.AsyncClient) -> None:
    payload = json.dumps({"name": "x" * (2 * 1024 * 1024), "count": 1}).encode()
    response = await probe_client.post(
        "/api/v1/_probe/echo", content=payload, headers={"content-type": "application/json"}
    )
    assert_envelope(response, 413, "payload_too_large")


async def test_oversized_chunked_body_is_413(probe_client: httpx.AsyncClient) -> None:
    async def chunks() -> Any:
        yield b'{"name": "'
        for _ in range(40):
            yield b"x" * 65536
        yield b'", "count": 1}'

    response = await probe_client.post(
        "/api/v1/_probe/echo", content=chunks(), headers={"content-type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    assert_envelope(response, 413, "payload_too_large")


async def test_security_headers_present(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


async def test_large_responses_are_gzipped(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.get("/api/v1/_probe/big", headers={"Accept-Encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert response.json()["text"].startswith("lexbase lexbase")
    raw = await probe_client.get("/api/v1/_probe/big", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in raw.headers
    assert len(gzip.compress(raw.content)) < len(raw.content)


async def test_cors_allows_only_configured_origins(make_settings: SettingsFactory) -> None:
    app = create_app(make_settings(cors_origins="https://app.firm.example"))
    async with running(app) as c:
        preflight = {"Access-Control-Request-Method": "POST"}
        ok = await c.options("/health", headers={"Origin": "https://app.firm.example", **preflight})
        assert ok.headers["access-control-allow-origin"] == "https://app.firm.example"
        bad = await c.options("/health", headers={"Origin": "https://evil.example", **preflight})
        assert "access-control-allow-origin" not in bad.headers


async def test_openapi_and_docs_served_outside_production(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/api/v1/openapi.json")).json()
    assert spec["info"]["title"] == "Lexbase"
    assert "/health/ready" in spec["paths"]
    docs = await client.get("/api/v1/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


async def test_docs_hidden_in_production(make_settings: SettingsFactory) -> None:
    app = create_app(make_settings(env="production"))
    async with running(app) as c:
        assert_envelope(await c.get("/api/v1/docs"), 404, "not_found")
        assert_envelope(await c.get("/api/v1/redoc"), 404, "not_found")
        # The schema maps every route for a prober; production serves none of it.
        assert_envelope(await c.get("/api/v1/openapi.json"), 404, "not_found")
        assert "Strict-Transport-Security" in (await c.get("/health")).headers
