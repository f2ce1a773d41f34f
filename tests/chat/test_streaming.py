"""Answers as Server-Sent Events, over a real server: `sources` before generation, `token`s,
`citations`, `done`; a client that leaves stops the model and leaves a consistent history."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI

from lexbase.app import create_app
from tests.api.test_envelope import assert_envelope
from tests.chat.test_conversations import (
    CONTRACT,
    QUESTION,
    assert_quotes_verbatim,
    conversation,
    indexed,
)
from tests.conftest import SettingsFactory
from tests.factories import Tenant
from tests.support.serve import on_loopback

API = "/api/v1"


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        on_loopback(app) as port,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=120) as c,
    ):
        yield c


async def events(response: httpx.Response) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    name = None
    async for line in response.aiter_lines():
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: ") and name is not None:
            yield name, json.loads(line.removeprefix("data: "))
            name = None


async def test_a_streamed_answer_opens_with_its_sources_and_ends_done(
    make_settings: SettingsFactory, tenant: Tenant
) -> None:
    headers = tenant["attorney"].headers
    app = create_app(
        make_settings(chat_answer_mode="generated", chat_answer_tokens=64, llm_local_context=2048)
    )
    async with serving(app) as c:
        await indexed(c, headers, CONTRACT, "msa.txt")
        conversation_id = await conversation(c, headers)
        seen: list[tuple[str, dict[str, Any]]] = []
        async with c.stream(
            "POST",
            f"{API}/conversations/{conversation_id}/messages",
            json={"content": QUESTION, "stream": True},
            headers=headers,
        ) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            async for item in events(response):
                seen.append(item)
        names = [name for name, _ in seen]
        assert names[0] == "sources" and names[-2:] == ["citations", "done"]
        assert "token" in names and "error" not in names
        assert seen[0][1]["sources"], "the passages come first"
        streamed = "".join(data["text"] for name, data in seen if name == "token")
        message = seen[-1][1]["message"]
        assert message["status"] == "complete" and message["mode"] == "generated"
        assert streamed.strip()
        await assert_quotes_verbatim(c, headers, message)
        history = (
            await c.get(f"{API}/conversations/{conversation_id}/messages", headers=headers)
        ).json()["items"]
        assert [m["role"] for m in history] == ["user", "assistant"]
        assert history[1]["id"] == message["id"]


async def test_accept_header_streams_an_extractive_answer(
    make_settings: SettingsFactory, tenant: Tenant
) -> None:
    headers = tenant["paralegal"].headers
    app = create_app(make_settings(chat_answer_mode="extractive"))
    async with serving(app) as c:
        await indexed(c, headers, CONTRACT, "msa.txt")
        conversation_id = await conversation(c, headers)
        async with c.stream(
            "POST",
            f"{API}/conversations/{conversation_id}/messages",
            json={"content": QUESTION},
            headers={**headers, "Accept": "text/event-stream"},
        ) as response:
            seen = [item async for item in events(response)]
    names = [name for name, _ in seen]
    assert names[0] == "sources" and names[-1] == "done"
    cited = seen[names.index("citations")][1]
    assert cited["grounded"] is True
    assert any("Delaware" in c["quote"] for c in cited["citations"])


async def test_a_client_that_leaves_stops_the_model_and_keeps_the_partial_answer(
    make_settings: SettingsFactory, tenant: Tenant
) -> None:
    headers = tenant["attorney"].headers
    app = create_app(
        make_settings(chat_answer_mode="generated", chat_answer_tokens=400, llm_local_context=2048)
    )
    async with serving(app) as c:
        await indexed(c, headers, CONTRACT, "msa.txt")
        conversation_id = await conversation(c, headers)
        tokens = 0
        async with c.stream(
            "POST",
            f"{API}/conversations/{conversation_id}/messages",
            json={
                "content": "Write a very long essay about every clause of the agreement.",
                "stream": True,
            },
            headers=headers,
        ) as response:
            async for name, _ in events(response):
                tokens += name == "token"
                if tokens == 3:
                    break
        model = app.state.chat.llm.primary
        await asyncio.sleep(1.0)
        produced = model.generated_tokens
        await asyncio.sleep(1.0)
        assert model.generated_tokens == produced, "the model went on after the client left"
        assert produced < 100
        history = (
            await c.get(f"{API}/conversations/{conversation_id}/messages", headers=headers)
        ).json()["items"]
    assert [m["role"] for m in history] == ["user", "assistant"]
    assert history[1]["status"] == "incomplete"
    assert history[1]["content"]


async def test_an_unknown_conversation_is_not_found_before_any_stream(
    make_settings: SettingsFactory, tenant: Tenant
) -> None:
    app = create_app(make_settings(chat_answer_mode="extractive"))
    async with serving(app) as c:
        response = await c.post(
            f"{API}/conversations/00000000-0000-4000-8000-000000000000/messages",
            json={"content": "hello", "stream": True},
            headers=tenant["paralegal"].headers,
        )
    assert_envelope(response, 404, "not_found")
