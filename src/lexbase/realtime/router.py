"""`WS /api/v1/ws?token=…`: the caller's organization's events, filtered by ethical walls."""

from __future__ import annotations

import asyncio
import contextlib
import time

import structlog
from fastapi import APIRouter, WebSocket, WebSocketDisconnect, status

from lexbase.auth.deps import authenticate
from lexbase.core.errors import LexbaseError
from lexbase.core.principal import Principal
from lexbase.core.resources import Resources
from lexbase.realtime.repository import visible_matters

router = APIRouter(tags=["realtime"])
log = structlog.get_logger(__name__)

_VISIBILITY_TTL_SECONDS = 30.0


class _Visibility:
    """The matters the subscriber may see, re-read when stale or when an unknown one appears."""

    def __init__(self, resources: Resources, principal: Principal) -> None:
        self.resources = resources
        self.principal = principal
        self.matters: set[str] = set()
        self.read_at = 0.0

    async def allows(self, matter_id: str | None) -> bool:
        if matter_id is None or self.principal.is_admin:
            return True
        stale = time.monotonic() - self.read_at > _VISIBILITY_TTL_SECONDS
        if stale or matter_id not in self.matters:
            async with self.resources.sessionmaker() as session:
                self.matters = await visible_matters(session, self.principal)
            self.read_at = time.monotonic()
        return matter_id in self.matters


@router.websocket("/ws")
async def events(websocket: WebSocket, token: str | None = None) -> None:
    resources: Resources = websocket.app.state.resources
    credential = token or websocket.headers.get("authorization", "").removeprefix("Bearer ")
    try:
        async with resources.sessionmaker() as session:
            principal = await authenticate(session, resources.settings, credential)
    except LexbaseError:
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason="unauthorized")
        return
    await websocket.accept()
    visibility = _Visibility(resources, principal)
    log.info("realtime.connected", user_id=principal.user_id)

    async def forward() -> None:
        async for event in resources.events.subscribe(principal.organization_id):
            if await visibility.allows(event.matter_id):
                await websocket.send_text(event.to_json())

    async def until_closed() -> None:
        # Clients only listen; reading is how a disconnect is noticed while no events flow.
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                await websocket.receive_text()

    tasks = [asyncio.create_task(forward()), asyncio.create_task(until_closed())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        log.info("realtime.disconnected", user_id=principal.user_id)
