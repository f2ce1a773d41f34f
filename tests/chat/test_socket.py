"""The chat exchange over a real WebSocket to a real server: the same events as the SSE
stream, the same owners, roles and validation."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

from lexbase.app import create_app
from tests.chat.test_conversations import CONTRACT, QUESTION, assert_quotes_verbatim, indexed
from tests.conftest import SettingsFactory
from tests.factories import Tenant
from tests.support.serve import on_loopback

API = "/api/v1"


@asynccontextmanager
async def serving(make_settings: SettingsFactory) -> AsyncIterator[str]:
    app = create_app(make_settings(chat_answer_mode="extractive"))
    async with on_loopback(app) as port:
        yield f"127.0.0.1:{port}"


@asynccontextmanager
async def socket(host: str, headers: dict[str, str]) -> AsyncIterator[ClientConnection]:
    async with connect(f"ws://{host}{API}/ws") as ws:
        token = headers["Authorization"].removeprefix("Bearer ")
        await ws.send(json.dumps({"type": "auth", "token": token}))
        assert json.loads(await ws.recv())["type"] == "auth.ok"
        yield ws


async def exchange(ws: ClientConnection, **ask: Any) -> list[dict[str, Any]]:
    """Send one question; the chat events answering it, until `chat.done` or `chat.error`."""
    await ws.send(json.dumps({"type": "chat.ask", **ask}))
    seen: list[dict[str, Any]] = []
    async with asyncio.timeout(60):
        while True:
            message = json.loads(await ws.recv())
            if not message["type"].startswith("chat."):
                continue  # the organization's other events share the socket
            seen.append(message)
            if message["type"] in ("chat.done", "chat.error"):
                return seen


async def test_a_question_over_the_websocket_is_answered_like_over_http(
    make_settings: SettingsFactory, tenant: Tenant
) -> None:
    headers = tenant["paralegal"].headers
    async with serving(make_settings) as host, httpx.AsyncClient(base_url=f"http://{host}") as c:
        await indexed(c, headers, CONTRACT, "msa.txt")
        created = await c.post(f"{API}/conversations", json={}, headers=headers)
        conversation_id = created.json()["id"]

        async with socket(host, headers) as ws:
            events = await exchange(ws, id="q1", conversation_id=conversation_id, content=QUESTION)
            types = [e["type"] for e in events]
            assert types[0] == "chat.sources" and types[-2:] == ["chat.citations", "chat.done"]
            assert "chat.token" in types and {e["id"] for e in events} == {"q1"}
            message = events[-1]["data"]["message"]
            assert any("Delaware" in cite["quote"] for cite in message["citations"])
            await assert_quotes_verbatim(c, headers, message)

            refused = await exchange(ws, id="q2", conversation_id=conversation_id, content=" ")
            assert refused[-1]["type"] == "chat.error"
            assert refused[-1]["data"]["code"] == "validation_error"

        history = await c.get(f"{API}/conversations/{conversation_id}/messages", headers=headers)
        assert [m["role"] for m in history.json()["items"]] == ["user", "assistant"]

        # Someone else's conversation is not found; a viewer may not ask at all.
        async with socket(host, tenant["attorney"].headers) as ws:
            other = await exchange(ws, id="x", conversation_id=conversation_id, content="Hi")
        assert other[-1]["data"]["code"] == "not_found"
        async with socket(host, tenant["viewer"].headers) as ws:
            viewer = await exchange(ws, id="v", conversation_id=conversation_id, content="Hi")
        assert viewer[-1]["data"]["code"] == "forbidden"
        history = await c.get(f"{API}/conversations/{conversation_id}/messages", headers=headers)
        assert history.json()["total"] == 2
