"""A WebSocket is a standing read: its caller is re-checked, as an attacker would test it.

Each test opens a real socket to a real server, proves the caller sees a walled matter's
events, changes the caller's access through the API, and checks the socket stops carrying
them (or is closed) — while events the caller may still see keep arriving.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable
from datetime import timedelta
from typing import Any

import httpx
import jwt
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from lexbase.core.db import utcnow
from lexbase.core.permissions import Role
from lexbase.core.security import ACCESS_TOKEN_TYPE, JWT_ALGORITHM
from tests.conftest import TEST_SECRET, SettingsFactory
from tests.documents.helpers import upload
from tests.factories import Tenant, TestUser
from tests.matters.helpers import add_member, add_user, create_matter
from tests.realtime.test_websocket import drain, live_server

API = "/api/v1"


async def open_socket(host: str, token: str) -> ClientConnection:
    """Connect and authenticate with the first message (the token never enters the URL)."""
    ws = await connect(f"ws://{host}{API}/ws")
    await ws.send(json.dumps({"type": "auth", "token": token}))
    reply = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert reply["type"] == "auth.ok"
    return ws


def document_ids(messages: list[dict[str, Any]]) -> set[str]:
    return {m["data"]["document_id"] for m in messages if "document_id" in m["data"]}


async def closed_reason(ws: ClientConnection, seconds: float = 5.0) -> str:
    """The close reason once the server ends the socket (fails if it stays open)."""
    with pytest.raises(ConnectionClosed) as closed:
        async with asyncio.timeout(seconds):
            while True:
                await ws.recv()
    assert closed.value.rcvd is not None, "the server did not close the socket"
    assert closed.value.rcvd.code == 1008
    return closed.value.rcvd.reason


class Scene:
    """A walled matter whose member (the attorney) uploads into it, and an open document
    uploaded by the paralegal, so each check shows both what is hidden and what is not."""

    def __init__(self, c: httpx.AsyncClient, tenant: Tenant, matter_id: str) -> None:
        self.c, self.tenant, self.matter_id = c, tenant, matter_id

    async def walled_upload(self) -> str:
        body = await upload(
            self.c,
            self.tenant["attorney"].headers,
            f"Walled strategy memo {uuid.uuid4()}.\n".encode(),
            "walled.txt",
            matter_id=self.matter_id,
        )
        return str(body["document"]["id"])

    async def open_upload(self) -> str:
        body = await upload(
            self.c,
            self.tenant["paralegal"].headers,
            f"Open memo {uuid.uuid4()}.\n".encode(),
            "open.txt",
        )
        return str(body["document"]["id"])


async def scene(c: httpx.AsyncClient, tenant: Tenant) -> Scene:
    matter = await create_matter(c, tenant["attorney"], name="Walled", restricted=True)
    return Scene(c, tenant, matter["id"])


def quiet(make_settings: SettingsFactory, **overrides: Any) -> Any:
    # No document processing: an upload's `document.status` event is enough to watch.
    return lambda: make_settings(embedded_workers=0, **overrides)


async def assert_change_hides_the_wall(
    walls: Scene, ws: ClientConnection, change: Awaitable[httpx.Response], status: int
) -> None:
    """The socket sees the walled matter's events, then `change` happens through the API;
    afterwards it still sees open documents' events and no longer the walled ones."""
    before = await walls.walled_upload()
    assert before in document_ids(await drain(ws))
    response = await change
    assert response.status_code == status, response.text
    await asyncio.sleep(0.2)
    hidden = await walls.walled_upload()
    still_open = await walls.open_upload()
    seen = document_ids(await drain(ws))
    await ws.close()
    assert hidden not in seen
    assert still_open in seen


async def test_demoted_admin_stops_seeing_walled_events(
    make_settings: SettingsFactory, tenant: Tenant
) -> None:
    second_admin = await add_user(make_settings(), tenant, Role.ADMIN)
    async with (
        live_server(quiet(make_settings)) as host,
        httpx.AsyncClient(base_url=f"http://{host}") as c,
    ):
        walls = await scene(c, tenant)
        ws = await open_socket(host, second_admin.access_token)
        demote = c.patch(
            f"{API}/users/{second_admin.id}",
            json={"role": "viewer"},
            headers=tenant.admin.headers,
        )
        await assert_change_hides_the_wall(walls, ws, demote, 200)


async def test_removed_member_stops_seeing_walled_events(
    make_settings: SettingsFactory, tenant: Tenant
) -> None:
    async with (
        live_server(quiet(make_settings)) as host,
        httpx.AsyncClient(base_url=f"http://{host}") as c,
    ):
        walls = await scene(c, tenant)
        viewer = tenant["viewer"]
        await add_member(c, tenant["attorney"], walls.matter_id, viewer.id)
        ws = await open_socket(host, viewer.access_token)
        remove = c.delete(
            f"{API}/matters/{walls.matter_id}/members/{viewer.id}",
            headers=tenant["attorney"].headers,
        )
        await assert_change_hides_the_wall(walls, ws, remove, 204)


async def test_matter_walled_while_listening_hides_its_events(
    make_settings: SettingsFactory, tenant: Tenant
) -> None:
    async with (
        live_server(quiet(make_settings)) as host,
        httpx.AsyncClient(base_url=f"http://{host}") as c,
    ):
        matter = await create_matter(c, tenant["attorney"], name="Open for now")
        ws = await open_socket(host, tenant["viewer"].access_token)
        restrict = c.patch(
            f"{API}/matters/{matter['id']}",
            json={"restricted": True},
            headers=tenant["attorney"].headers,
        )
        await assert_change_hides_the_wall(Scene(c, tenant, matter["id"]), ws, restrict, 200)


@pytest.mark.parametrize("how", ["logout", "deactivate", "password"])
async def test_socket_closes_when_the_session_ends(
    make_settings: SettingsFactory, tenant: Tenant, how: str
) -> None:
    member = await add_user(make_settings(), tenant, Role.ATTORNEY)
    async with (
        live_server(quiet(make_settings)) as host,
        httpx.AsyncClient(base_url=f"http://{host}") as c,
    ):
        ws = await open_socket(host, member.access_token)
        if how == "logout":
            response = await c.post(f"{API}/auth/logout", headers=member.headers)
        elif how == "deactivate":
            response = await c.delete(f"{API}/users/{member.id}", headers=tenant.admin.headers)
        else:
            response = await c.post(
                f"{API}/auth/password",
                json={"current_password": member.password, "new_password": "N3w-Passw0rd-xy"},
                headers=member.headers,
            )
        assert response.status_code == 204, response.text
        assert await closed_reason(ws) == "unauthorized"


async def test_socket_closes_when_its_token_expires(
    make_settings: SettingsFactory, tenant: Tenant
) -> None:
    member = tenant["attorney"]
    claims = jwt.decode(member.access_token, options={"verify_signature": False})
    async with live_server(quiet(make_settings)) as host:
        now = utcnow()
        short = {**claims, "iat": int(now.timestamp()), "nbf": int(now.timestamp())}
        short["exp"] = int((now + timedelta(seconds=2)).timestamp())
        short["typ"] = ACCESS_TOKEN_TYPE
        ws = await open_socket(host, jwt.encode(short, TEST_SECRET, algorithm=JWT_ALGORITHM))
        assert await closed_reason(ws, seconds=6) == "token expired"


async def test_fresh_token_extends_the_socket(
    make_settings: SettingsFactory, tenant: Tenant
) -> None:
    member = tenant["attorney"]
    claims = jwt.decode(member.access_token, options={"verify_signature": False})
    async with (
        live_server(quiet(make_settings)) as host,
        httpx.AsyncClient(base_url=f"http://{host}") as c,
    ):
        # Made once the server is up, so its few seconds are the socket's, not start-up's.
        short = {**claims, "exp": int((utcnow() + timedelta(seconds=4)).timestamp())}
        ws = await open_socket(host, jwt.encode(short, TEST_SECRET, algorithm=JWT_ALGORITHM))
        await ws.send(json.dumps({"type": "auth", "token": member.access_token}))
        await asyncio.sleep(5)
        walls = Scene(c, tenant, (await create_matter(c, member, name="M"))["id"])
        document = await walls.walled_upload()
        assert document in document_ids(await drain(ws))
        await ws.close()


async def test_bad_first_message_is_refused(make_settings: SettingsFactory) -> None:
    async with live_server(quiet(make_settings)) as host:
        ws = await connect(f"ws://{host}{API}/ws")
        await ws.send(json.dumps({"type": "auth", "token": "lxb_made-up"}))
        assert await closed_reason(ws) == "unauthorized"


async def test_connections_are_capped_per_user(
    make_settings: SettingsFactory, tenant: Tenant
) -> None:
    member: TestUser = tenant["viewer"]
    async with live_server(quiet(make_settings, ws_max_per_user=2)) as host:
        first = await open_socket(host, member.access_token)
        second = await open_socket(host, member.access_token)
        third = await connect(f"ws://{host}{API}/ws")
        await third.send(json.dumps({"type": "auth", "token": member.access_token}))
        reply = json.loads(await asyncio.wait_for(third.recv(), 5))
        assert reply["type"] == "auth.ok"
        assert await closed_reason(third) == "too many connections"
        await first.close()
        await asyncio.sleep(0.2)
        fourth = await open_socket(host, member.access_token)
        for ws in (second, fourth):
            await ws.close()


async def test_connections_are_capped_per_address(
    make_settings: SettingsFactory, tenant: Tenant
) -> None:
    async with live_server(quiet(make_settings, ws_max_per_address=1)) as host:
        first = await open_socket(host, tenant["viewer"].access_token)
        with pytest.raises(InvalidStatus) as refused:
            await connect(f"ws://{host}{API}/ws?token={tenant['attorney'].access_token}")
        assert refused.value.response.status_code == 403
        await first.close()
