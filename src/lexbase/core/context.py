"""Per-request facts (request id, client address) readable anywhere below the middleware."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    request_id: str | None = None  # the server's own
    client_request_id: str | None = None  # what the client sent as X-Request-ID, if valid
    ip: str | None = None
    user_agent: str | None = None


_EMPTY = RequestContext()
_current: ContextVar[RequestContext | None] = ContextVar("lexbase_request", default=None)


def current_request() -> RequestContext:
    return _current.get() or _EMPTY


def set_current_request(context: RequestContext) -> None:
    _current.set(context)
