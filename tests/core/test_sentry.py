"""Error reports to Sentry, against a local server that records what the SDK sends: a
request's unexpected error arrives with its request id and route, and without the caller's
credentials, cookies or address."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from lexbase.app import create_app
from lexbase.core import sentry
from tests.api.test_envelope import probe
from tests.conftest import SettingsFactory, running
from tests.support.serve import on_loopback


@asynccontextmanager
async def recorder() -> AsyncIterator[tuple[list[bytes], int]]:
    """A server taking Sentry envelopes (POST /api/<project>/envelope/); the bodies received."""
    received: list[bytes] = []

    async def envelope(request: Request) -> Response:
        body = await request.body()
        encoding = request.headers.get("content-encoding")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "br":  # the SDK's choice when Brotli is installed
            import brotli

            body = brotli.decompress(body)
        received.append(body)
        return Response("{}", media_type="application/json")

    app = Starlette(routes=[Route("/api/{project}/envelope/", envelope, methods=["POST"])])
    async with on_loopback(app) as port:
        yield received, port


def events(bodies: list[bytes]) -> list[dict[str, Any]]:
    """The error events in the envelopes (each: a header line, then item header and payload)."""
    found = []
    for body in bodies:
        lines = body.split(b"\n")
        for header, payload in zip(lines[1::2], lines[2::2], strict=False):
            if json.loads(header).get("type") == "event":
                found.append(json.loads(payload))
    return found


async def test_an_unexpected_error_is_reported_without_personal_data(
    make_settings: SettingsFactory,
) -> None:
    async with recorder() as (received, port):
        settings = make_settings(sentry_dsn=f"http://publickey@127.0.0.1:{port}/7")
        app = create_app(settings)
        app.include_router(probe)
        try:
            async with running(app) as c:
                response = await c.get(
                    "/api/v1/_probe/boom",
                    headers={"Authorization": "Bearer tok-9f8e7d", "Cookie": "sid=c00k1e"},
                )
                assert response.status_code == 500
                # An error the API answers on purpose is not reported.
                assert (await c.get("/api/v1/no-such-route")).status_code == 404
        finally:
            await asyncio.to_thread(sentry.shutdown)  # flushes; the loop keeps serving
        [event] = events(received)
    assert event["exception"]["values"][-1]["type"] == "RuntimeError"
    assert event["tags"]["request_id"] == response.headers["X-Request-ID"]
    assert event["tags"]["route"] == "/api/v1/_probe/boom"
    assert event["environment"] == settings.env.value
    sent = b"".join(received)
    for secret in (b"tok-9f8e7d", b"c00k1e", b"127.0.0.1:"):
        assert secret not in sent.replace(f"127.0.0.1:{port}".encode(), b"")


async def test_nothing_is_reported_without_a_dsn(make_settings: SettingsFactory) -> None:
    async with recorder() as (received, _):
        app = create_app(make_settings())
        app.include_router(probe)
        async with running(app) as c:
            assert (await c.get("/api/v1/_probe/boom")).status_code == 500
        await asyncio.to_thread(sentry.shutdown)
    assert received == []
