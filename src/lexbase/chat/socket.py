"""The chat exchange over the WebSocket (`WS /api/v1/ws`), beside the organization's events.

The client sends `{"type": "chat.ask", "id": "<its reference>", "conversation_id": "…",
"content": "…"}`; the answer comes back as the same events as the Server-Sent Events stream,
named `chat.sources`, `chat.token`, `chat.citations`, `chat.done` or `chat.error`, each
`{"type", "id", "data"}` with the client's reference. The caller is checked again before
each question (the socket's standing check), must be allowed to write, and spends the same
chat rate limit as over HTTP. One question at a time per socket; a socket that closes stops
the model, and the part already made is stored incomplete, as over HTTP.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lexbase.chat.deps import ChatState
from lexbase.chat.schemas import MessageCreate
from lexbase.chat.service import ChatService
from lexbase.core.db import DATABASE_ERRORS
from lexbase.core.errors import LexbaseError
from lexbase.core.permissions import Permission
from lexbase.core.principal import Principal
from lexbase.core.ratelimit import spend
from lexbase.core.resources import Resources
from lexbase.search.deps import SearchState

log = structlog.get_logger(__name__)

Send = Callable[[str], Awaitable[None]]


class ChatAsk(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str
    id: str = Field(default="", max_length=100)
    conversation_id: str = Field(min_length=1, max_length=36)
    content: str


def is_chat(raw: dict[str, Any]) -> bool:
    return raw.get("type") == "chat.ask"


async def answer(
    send: Send,
    raw: dict[str, Any],
    principal: Principal,
    resources: Resources,
    search: SearchState,
    chat: ChatState,
) -> None:
    """Answer one `chat.ask` message, sending its events; every refusal is a `chat.error`."""
    reference = str(raw.get("id", ""))[:100]

    async def event(name: str, data: dict[str, Any]) -> None:
        await send(json.dumps({"type": f"chat.{name}", "id": reference, "data": data}))

    try:
        ask = ChatAsk.model_validate(raw)
        content = MessageCreate(content=ask.content).content
    except ValidationError as exc:
        details = [{"loc": [str(p) for p in e["loc"]], "message": e["msg"]} for e in exc.errors()]
        await event("error", _error("validation_error", "Invalid chat message", details))
        return
    if not principal.can(Permission.WRITE):
        await event("error", _error("forbidden", "You may not ask in conversations"))
        return
    settings = resources.settings
    if settings.rate_limit_enabled and not await spend(
        resources.rate_limit_storage, settings.rate_limit_chat, "chat", f"user:{principal.user_id}"
    ):
        await event("error", _error("rate_limited", "Too many chat requests"))
        return
    events = ChatService(resources, search, chat).ask_streaming(
        principal, ask.conversation_id, content
    )
    try:
        async for name, data in events:
            await event(name, data)
    except LexbaseError as exc:
        await event("error", _error(exc.code, exc.message, exc.details))
    except DATABASE_ERRORS:
        log.exception("chat.socket_failed")
        await event("error", _error("service_unavailable", "The database is unavailable"))
    finally:
        await events.aclose()


def busy(raw: dict[str, Any]) -> str:
    """The refusal of a question asked while the socket's previous one is being answered."""
    error = _error("busy", "One question at a time on a socket: wait for chat.done")
    return json.dumps({"type": "chat.error", "id": str(raw.get("id", ""))[:100], "data": error})


def _error(code: str, message: str, details: list[Any] | None = None) -> dict[str, Any]:
    return {"code": code, "message": message, "details": details or []}
