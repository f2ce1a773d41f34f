"""`WS /api/v1/ws`: the caller's organization's events, filtered by ethical walls.

The credential comes in the first message, `{"type": "auth", "token": "…"}`, which keeps it
out of URLs and logs; `?token=` and an `Authorization` header are accepted for clients that
cannot send one. A socket is a standing read, so its caller is checked again — session,
account, role, walls — whenever the organization's access changes and at least every few
seconds while events flow; a caller who no longer passes is disconnected, and so is one whose
credential expires. Sending a new `auth` message with a fresh token extends the socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from datetime import datetime
from typing import Any

import structlog
from fastapi import APIRouter, WebSocket, WebSocketDisconnect, status
from pydantic import BaseModel, ValidationError

from lexbase.auth.deps import authenticate
from lexbase.chat import socket as chat_socket
from lexbase.core.db import DATABASE_ERRORS, transaction, utcnow
from lexbase.core.errors import LexbaseError
from lexbase.core.events import Event
from lexbase.core.principal import Principal
from lexbase.core.ratelimit import client_address
from lexbase.core.resources import Resources
from lexbase.realtime.connections import ConnectionLimits
from lexbase.realtime.repository import visible_matters

router = APIRouter(tags=["realtime"])
log = structlog.get_logger(__name__)

AUTH_TIMEOUT_SECONDS = 10.0


class AuthMessage(BaseModel):
    type: str
    token: str


class CallerGone(Exception):
    """The caller may no longer listen: close the socket with this reason."""

    def __init__(self, reason: str, code: int = status.WS_1008_POLICY_VIOLATION) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


class Subscriber:
    """One socket's caller and the matters it may see, re-read from the database."""

    def __init__(self, resources: Resources, credential: str, principal: Principal) -> None:
        self.resources = resources
        self.credential = credential
        self.principal = principal
        self.matters: set[str] = set()
        # Matters found hidden from the caller since the last check (spares re-reading them).
        self.hidden: set[str] = set()
        self.checked_at = 0.0

    @property
    def stale(self) -> bool:
        return time.monotonic() - self.checked_at > self.resources.settings.ws_recheck_seconds

    async def check(self, credential: str | None = None) -> None:
        """Authenticate (again) and re-read the visible matters, or raise CallerGone."""
        credential = credential or self.credential
        try:
            async with transaction(self.resources.sessionmaker) as session:
                principal = await authenticate(session, self.resources.settings, credential)
                matters = set() if principal.is_admin else await visible_matters(session, principal)
        except LexbaseError:
            raise CallerGone("unauthorized") from None
        except DATABASE_ERRORS:
            # Access cannot be confirmed: nothing more is sent; the client reconnects later.
            raise CallerGone("unavailable", status.WS_1013_TRY_AGAIN_LATER) from None
        if (principal.user_id, principal.organization_id) != (
            self.principal.user_id,
            self.principal.organization_id,
        ):
            raise CallerGone("unauthorized")
        self.credential, self.principal, self.matters = credential, principal, matters
        self.hidden = set()
        self.checked_at = time.monotonic()

    async def may_see(self, event: Event) -> bool:
        if event.internal:  # someone's access changed: this caller's may have too
            await self.check()
            return False
        if self.stale:
            await self.check()
        matter_id = event.matter_id
        if matter_id is None or self.principal.is_admin or matter_id in self.matters:
            return True
        if matter_id not in self.hidden:  # a matter new to this socket: read access again
            await self.check()
            if self.principal.is_admin or matter_id in self.matters:
                return True
            self.hidden.add(matter_id)
        return False

    def seconds_left(self) -> float | None:
        expires_at: datetime | None = self.principal.expires_at
        if expires_at is None:
            return None
        return max((expires_at - utcnow()).total_seconds(), 0.0)


@router.websocket("/ws")
async def events(websocket: WebSocket, token: str | None = None) -> None:
    resources: Resources = websocket.app.state.resources
    limits: ConnectionLimits = websocket.app.state.ws_connections
    address = client_address(websocket.scope, resources.settings.trusted_proxies)
    credential = token or _bearer(websocket)
    principal = await _authenticate(resources, credential) if credential else None
    if credential and principal is None:
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason="unauthorized")
        return
    if not limits.admit_address(address):
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason="too many connections")
        return
    try:
        await websocket.accept()
        if principal is None:
            credential, principal = await _first_message_auth(websocket, resources)
            if principal is None:
                return
        assert credential is not None
        async with limits.user_slot(principal.user_id) as admitted:
            if not admitted:
                await websocket.close(
                    code=status.WS_1008_POLICY_VIOLATION, reason="too many connections"
                )
                return
            await _serve(websocket, Subscriber(resources, credential, principal))
    finally:
        limits.release_address(address)


def _json_object(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _bearer(websocket: WebSocket) -> str | None:
    header = websocket.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


async def _authenticate(resources: Resources, credential: str) -> Principal | None:
    try:
        async with transaction(resources.sessionmaker) as session:
            return await authenticate(session, resources.settings, credential)
    except LexbaseError:
        return None


async def _first_message_auth(
    websocket: WebSocket, resources: Resources
) -> tuple[str | None, Principal | None]:
    try:
        async with asyncio.timeout(AUTH_TIMEOUT_SECONDS):
            message = AuthMessage.model_validate_json(await websocket.receive_text())
    except (TimeoutError, ValidationError, WebSocketDisconnect):
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason="unauthorized")
        return None, None
    principal = await _authenticate(resources, message.token) if message.type == "auth" else None
    if principal is None:
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason="unauthorized")
        return None, None
    await websocket.send_text(json.dumps({"type": "auth.ok", "data": {}}))
    return message.token, principal


async def _serve(websocket: WebSocket, subscriber: Subscriber) -> None:
    resources = subscriber.resources
    principal = subscriber.principal
    log.info("realtime.connected", user_id=principal.user_id)
    try:
        await subscriber.check()
    except CallerGone as gone:
        await websocket.close(code=gone.code, reason=gone.reason)
        return

    sending = asyncio.Lock()  # events and a chat answer share the socket

    async def send(text: str) -> None:
        async with sending:
            await websocket.send_text(text)

    async def forward() -> None:
        async for event in resources.events.subscribe(principal.organization_id):
            if await subscriber.may_see(event):
                await send(event.to_json())

    asking: set[asyncio.Task[None]] = set()

    async def listen() -> None:
        # Clients send a fresh `auth` message or a question (`chat.ask`); reading is also how
        # a disconnect is noticed while no events flow.
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                raw = _json_object(await websocket.receive_text())
                if raw.get("type") == "auth":
                    with contextlib.suppress(ValidationError):
                        await subscriber.check(AuthMessage.model_validate(raw).token)
                elif chat_socket.is_chat(raw):
                    await subscriber.check()  # a question is a write: the caller, as of now
                    if asking:
                        await send(chat_socket.busy(raw))
                        continue
                    state = websocket.app.state
                    task = asyncio.create_task(
                        chat_socket.answer(
                            send, raw, subscriber.principal, resources, state.search, state.chat
                        )
                    )
                    asking.add(task)
                    task.add_done_callback(asking.discard)

    tasks = [asyncio.create_task(forward()), asyncio.create_task(listen())]
    reason, code = "closed", status.WS_1000_NORMAL_CLOSURE
    try:
        while True:
            done, _ = await asyncio.wait(
                tasks, timeout=subscriber.seconds_left(), return_when=asyncio.FIRST_COMPLETED
            )
            if done:
                failure = next((t.exception() for t in done if t.exception()), None)
                if isinstance(failure, CallerGone):
                    reason, code = failure.reason, failure.code
                elif failure is not None and not isinstance(failure, WebSocketDisconnect):
                    log.warning("realtime.failed", error_type=type(failure).__name__)
                    reason, code = "error", status.WS_1011_INTERNAL_ERROR
                break
            left = subscriber.seconds_left()
            if left is not None and left <= 0:
                reason, code = "token expired", status.WS_1008_POLICY_VIOLATION
                break
    finally:
        for task in [*tasks, *asking]:
            task.cancel()
        await asyncio.gather(*tasks, *asking, return_exceptions=True)
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await websocket.close(code=code, reason=reason)
        log.info("realtime.disconnected", user_id=principal.user_id, reason=reason)
