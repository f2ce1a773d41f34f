"""Real-time events over a real WebSocket to a real server: scoped to organization and walls."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from lexbase.app import create_app
from lexbase.jobs.registry import TaskRegistry
from tests.conftest import SettingsFactory
from tests.documents.helpers import upload
from tests.factories import Tenant
from tests.support.serve import on_loopback


@asynccontextmanager
async def live_server(
    make_settings: SettingsFactory, tasks: TaskRegistry | None = None
) -> AsyncIterator[str]:
    async with on_loopback(create_app(make_settings(), tasks)) as port:
        yield f"127.0.0.1:{port}"


async def collect(ws: Any, until: str, limit: float = 60.0) -> list[dict[str, Any]]:
    """Messages until one reports document status `until` (bounded in time)."""
    seen: list[dict[str, Any]] = []
    async with asyncio.timeout(limit):
        while True:
            message = json.loads(await ws.recv())
            seen.append(message)
            if message["type"] == "document.status" and message["data"]["status"] == until:
                return seen


async def test_events_follow_a_document_and_respect_walls(
    make_settings: SettingsFactory, tenant: Tenant, other_tenant: Tenant
) -> None:
    async with live_server(make_settings) as host:
        base = f"http://{host}"
        async with httpx.AsyncClient(base_url=base) as c:
            matter = await c.post(
                "/api/v1/matters",
                headers=tenant["attorney"].headers,
                json={"name": "Walled", "restricted": True},
            )
            matter_id = matter.json()["id"]
            member = await connect(f"ws://{host}/api/v1/ws?token={tenant['attorney'].access_token}")
            outsider = await connect(f"ws://{host}/api/v1/ws?token={tenant['viewer'].access_token}")
            foreign = await connect(
                f"ws://{host}/api/v1/ws?token={other_tenant.admin.access_token}"
            )
            await asyncio.sleep(0.2)

            open_doc = await upload(c, tenant["paralegal"].headers, b"An open memo.\n", "open.txt")
            walled_doc = await upload(
                c,
                tenant["attorney"].headers,
                b"A walled memo.\n",
                "walled.txt",
                matter_id=matter_id,
            )
            member_seen = await collect(member, "indexed")
            member_seen += await drain(member)
            outsider_seen = await drain(outsider, seconds=3.0)
            foreign_seen = await drain(foreign, seconds=0.5)
            for ws in (member, outsider, foreign):
                await ws.close()

    def documents(messages: list[dict[str, Any]]) -> set[str]:
        return {m["data"].get("document_id") for m in messages}

    assert walled_doc["document"]["id"] in documents(member_seen)
    statuses = [
        m["data"]["status"]
        for m in member_seen
        if m["type"] == "document.status"
        and m["data"]["document_id"] == walled_doc["document"]["id"]
    ]
    assert statuses[-1] == "indexed"
    assert any(m["type"] == "job.progress" for m in member_seen)
    assert open_doc["document"]["id"] in documents(outsider_seen)
    assert walled_doc["document"]["id"] not in documents(outsider_seen)
    assert foreign_seen == []


async def drain(ws: Any, seconds: float = 1.0) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    try:
        async with asyncio.timeout(seconds):
            while True:
                messages.append(json.loads(await ws.recv()))
    except TimeoutError:
        pass
    return messages


async def test_bad_token_is_refused(make_settings: SettingsFactory) -> None:
    async with live_server(make_settings) as host:
        with pytest.raises(InvalidStatus) as refused:
            await connect(f"ws://{host}/api/v1/ws?token=not-a-token")
        assert refused.value.response.status_code == 403
