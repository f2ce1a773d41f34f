"""`LEXBASE_ENV=production`: no API schema or docs, and `/metrics` only for its token holder."""

from __future__ import annotations

import httpx
import pytest

from lexbase.app import create_app
from lexbase.core.config import ConfigurationError, Environment, Settings, load_settings
from tests.api.test_envelope import assert_envelope
from tests.conftest import SettingsFactory, running

PRODUCTION_SECRET = "Qm7vX2kP9sLw4nRt8yZc3hJf6dGb1aUe5oTi0rWq"
METRICS_TOKEN = "scrape-7Hq2Lx9Vc4Nz8Rb3"
DOCS = ("/api/v1/openapi.json", "/api/v1/docs", "/api/v1/redoc")


def production(make_settings: SettingsFactory, **overrides: object) -> Settings:
    return make_settings(env=Environment.PRODUCTION, secret_key=PRODUCTION_SECRET, **overrides)


async def test_production_serves_no_schema_or_docs(make_settings: SettingsFactory) -> None:
    app = create_app(production(make_settings))
    assert app.openapi_url is None
    async with running(app) as client:
        for path in DOCS:
            error = assert_envelope(await client.get(path), 404, "not_found")
            assert error["message"] == "Route not found"
        health = await client.get("/health")
        assert health.status_code == 200 and health.json()["status"] == "ok"


async def test_development_and_test_serve_the_schema(make_settings: SettingsFactory) -> None:
    async with running(create_app(make_settings(env=Environment.TEST))) as client:
        schema = await client.get("/api/v1/openapi.json")
        assert schema.status_code == 200
        assert schema.json()["info"]["title"] == "Lexbase"
        assert "/api/v1/auth/login" in schema.json()["paths"]
        docs = await client.get("/api/v1/docs")
        assert docs.status_code == 200 and "swagger" in docs.text.lower()


async def test_production_without_a_token_has_no_metrics(make_settings: SettingsFactory) -> None:
    async with running(create_app(production(make_settings))) as client:
        await client.get("/health/live")
        for headers in ({}, {"Authorization": f"Bearer {METRICS_TOKEN}"}):
            response = await client.get("/metrics", headers=headers)

            error = assert_envelope(response, 404, "not_found")
            assert error["message"] == "Route not found"
            assert "lexbase_http_requests_total" not in response.text


@pytest.mark.parametrize("env", [Environment.PRODUCTION, Environment.TEST])
async def test_with_a_token_metrics_need_it(
    make_settings: SettingsFactory, env: Environment
) -> None:
    settings = make_settings(env=env, secret_key=PRODUCTION_SECRET, metrics_token=METRICS_TOKEN)
    async with running(create_app(settings)) as client:
        await client.get("/health/live")
        refused = [
            httpx.Headers(),
            httpx.Headers({"Authorization": "Bearer"}),
            httpx.Headers({"Authorization": f"Bearer {METRICS_TOKEN}x"}),
            httpx.Headers({"Authorization": f"Bearer {METRICS_TOKEN[:-1]}"}),
            httpx.Headers({"Authorization": f"Basic {METRICS_TOKEN}"}),
            httpx.Headers({b"Authorization": f"Bearer {METRICS_TOKEN}é".encode()}),
            httpx.Headers({"X-API-Key": METRICS_TOKEN}),
        ]
        for headers in refused:
            response = await client.get("/metrics", headers=headers)

            error = assert_envelope(response, 401, "unauthorized")
            assert error["message"] == "A valid metrics token is required", headers
            assert response.headers["WWW-Authenticate"] == "Bearer"
            assert "lexbase_http_requests_total" not in response.text

        allowed = await client.get("/metrics", headers={"Authorization": f"bearer {METRICS_TOKEN}"})
        assert allowed.status_code == 200
        assert allowed.headers["content-type"].startswith("text/plain")
        assert 'route="/health/live",status="200"' in allowed.text
        assert 'route="/metrics",status="401"' in allowed.text


async def test_test_environment_without_a_token_keeps_metrics_public(
    make_settings: SettingsFactory,
) -> None:
    async with running(create_app(make_settings(env=Environment.TEST))) as client:
        await client.get("/health/live")
        response = await client.get("/metrics")
        assert response.status_code == 200
        assert 'route="/health/live",status="200"' in response.text


def test_a_short_metrics_token_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="LEXBASE_METRICS_TOKEN: must be at least 16"):
        load_settings(_env_file=None, metrics_token="short")
    assert load_settings(_env_file=None, metrics_token="  ").metrics_token is None
