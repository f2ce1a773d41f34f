"""Slow request bodies are cut off with 408 `request_timeout`; a normal body is not.

The app is driven at the ASGI level with a `receive` that hands the body over chunk by chunk,
as a server does when a client sends slowly."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from starlette.types import Message

from lexbase.app import create_app
from tests.conftest import SettingsFactory
from tests.factories import Tenant

LOGIN = "/api/v1/auth/login"


class Exchange:
    """One request: the body arrives as `chunks`, each after its delay; records the answer."""

    def __init__(self, chunks: Sequence[tuple[float, bytes]]) -> None:
        self.chunks = list(chunks)
        self.messages: list[Message] = []
        self.pending_when_answered = 0

    async def receive(self) -> Message:
        if not self.chunks:
            await asyncio.Event().wait()  # the client went quiet; only a disconnect follows
        delay, data = self.chunks.pop(0)
        await asyncio.sleep(delay)
        return {"type": "http.request", "body": data, "more_body": bool(self.chunks)}

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.pending_when_answered = len(self.chunks)
        self.messages.append(message)

    @property
    def status(self) -> int:
        return int(self.messages[0]["status"])

    @property
    def headers(self) -> dict[str, str]:
        return {k.decode(): v.decode() for k, v in self.messages[0]["headers"]}

    @property
    def body(self) -> Any:
        return json.loads(b"".join(m.get("body", b"") for m in self.messages[1:]))


async def post(app: FastAPI, exchange: Exchange, path: str = LOGIN) -> float:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"content-type", b"application/json")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    started = time.monotonic()
    await asyncio.wait_for(app(scope, exchange.receive, exchange.send), timeout=30)
    return time.monotonic() - started


def trickle(data: bytes, every: float) -> list[tuple[float, bytes]]:
    return [(every, data[i : i + 1]) for i in range(len(data))]


def assert_timed_out(exchange: Exchange) -> None:
    assert exchange.status == 408
    assert exchange.headers["content-type"] == "application/json"
    assert exchange.headers["connection"] == "close"
    assert exchange.body == {
        "error": {
            "code": "request_timeout",
            "message": "The request body arrived too slowly",
            "request_id": exchange.headers["x-request-id"],
            "details": [],
        }
    }


def credentials(tenant: Tenant) -> bytes:
    user = tenant.admin
    return json.dumps({"email": user.email, "password": user.password}).encode()


async def test_a_trickled_body_is_cut_off_after_the_grace_period(
    make_settings: SettingsFactory, tenant: Tenant
) -> None:
    app = create_app(
        make_settings(
            request_body_idle_seconds=5,
            request_body_grace_seconds=0.5,
            request_body_min_bytes_per_second=100,
            embedded_workers=0,  # no worker processes starting while the clock runs
        )
    )
    # Each byte comes well within the idle limit: only the average rate gives it away.
    exchange = Exchange(trickle(credentials(tenant), every=0.1))
    async with app.router.lifespan_context(app):
        await app.state.warm_up  # start-up work must not stall the loop while the clock runs
        elapsed = await post(app, exchange)

    assert_timed_out(exchange)
    # The whole body would take about 7 s; the upper bound leaves a loaded machine room.
    assert 0.5 <= elapsed < 4.0
    assert exchange.pending_when_answered > 0


async def test_a_silent_client_is_cut_off_by_the_idle_limit(
    make_settings: SettingsFactory, tenant: Tenant
) -> None:
    app = create_app(
        make_settings(
            request_body_idle_seconds=0.4,
            request_body_grace_seconds=60,
            request_body_min_bytes_per_second=0,
            embedded_workers=0,
        )
    )
    body = credentials(tenant)
    exchange = Exchange([(0, body[:10]), (3600, body[10:])])
    async with app.router.lifespan_context(app):
        await app.state.warm_up  # start-up work must not stall the loop while the clock runs
        elapsed = await post(app, exchange)

    assert_timed_out(exchange)
    assert 0.4 <= elapsed < 5.0  # the rest of the body would come after an hour


async def test_a_slow_but_steady_body_gets_its_answer(
    make_settings: SettingsFactory, tenant: Tenant
) -> None:
    app = create_app(
        make_settings(
            request_body_idle_seconds=10,
            request_body_grace_seconds=1,
            request_body_min_bytes_per_second=50,
            embedded_workers=0,
        )
    )
    body = credentials(tenant) + b" " * 600
    # 250 bytes a second for about three seconds: well past the grace period, and five times
    # the minimum rate. The idle limit (not what this test is about) is far above the gaps,
    # so a loaded machine's scheduling stalls do not cut it off either.
    exchange = Exchange([(0.1, body[i : i + 25]) for i in range(0, len(body), 25)])
    async with app.router.lifespan_context(app):
        await app.state.warm_up  # start-up work must not stall the loop while the clock runs
        elapsed = await post(app, exchange)

    assert exchange.status == 200, exchange.body
    assert exchange.body["user"]["email"] == tenant.admin.email
    assert exchange.body["token_type"] == "bearer" and exchange.body["access_token"]
    assert elapsed >= 2.0


probe = APIRouter()


@probe.post("/api/v1/_probe/late-reader")
async def late_reader(request: Request) -> dict[str, int]:
    await asyncio.sleep(0.6)  # busy before it reads, longer than the idle limit and the grace
    return {"received": len(await request.body())}


async def test_the_app_taking_its_time_does_not_count_against_the_client(
    make_settings: SettingsFactory,
) -> None:
    app = create_app(
        make_settings(
            request_body_idle_seconds=0.3,
            request_body_grace_seconds=0.2,
            request_body_min_bytes_per_second=1000,
            embedded_workers=0,
        )
    )
    app.include_router(probe)
    exchange = Exchange([(0, b"x" * 100), (0, b"y" * 100)])
    async with app.router.lifespan_context(app):
        await app.state.warm_up
        await post(app, exchange, "/api/v1/_probe/late-reader")

    assert exchange.status == 200, exchange.body
    assert exchange.body == {"received": 200}
