"""Pure-ASGI middleware: request context, access log, metrics, security headers, body limits."""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

import structlog
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lexbase.core import sentry
from lexbase.core.context import RequestContext, set_current_request
from lexbase.core.errors import (
    DEPENDENCY_DOWN_MESSAGE,
    DEPENDENCY_RETRY_AFTER,
    RequestTimeout,
    dependency_down,
    error_body,
)
from lexbase.core.metrics import Metrics

log = structlog.get_logger("lexbase.access")

_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
# The interactive docs load their own scripts; every other response is API data.
_API_CSP = "default-src 'none'; frame-ancestors 'none'"


def route_template(scope: Scope) -> str:
    """The matched route's path template, so metrics never explode on ids."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "<unmatched>"


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            candidate = value.decode("latin-1").strip()
            return candidate if _REQUEST_ID_RE.match(candidate) else None
    return None


async def send_json_error(
    send: Send,
    status: int,
    code: str,
    message: str,
    request_id: str | None,
    headers: dict[str, str] | None = None,
) -> None:
    body = json.dumps(error_body(code, message, request_id)).encode()
    raw_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    raw_headers += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


class RequestContextMiddleware:
    """Outermost layer: request id, structured access log, metrics, headers, last-resort 500."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics, hsts: bool) -> None:
        self.app = app
        self.metrics = metrics
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # The server always names a request itself; a client's own X-Request-ID is kept
        # beside it (echoed back, logged and audited as the client's), never in its place.
        server_id = uuid.uuid4().hex
        client_id = _incoming_request_id(scope)
        request_id = client_id or server_id
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.bind_contextvars(request_id=server_id)
        if client_id is not None:
            structlog.contextvars.bind_contextvars(client_request_id=client_id)
        set_current_request(
            RequestContext(
                request_id=server_id,
                client_request_id=client_id,
                ip=_client_host(scope),
                user_agent=_header(scope, b"user-agent"),
            )
        )
        started = time.perf_counter()
        status = 500
        response_started = False
        is_docs = scope["path"].startswith("/api/v1/docs") or scope["path"].startswith(
            "/api/v1/redoc"
        )

        async def send_wrapper(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = request_id
                for key, value in SECURITY_HEADERS.items():
                    headers.setdefault(key, value)
                if not is_docs:
                    headers.setdefault("Content-Security-Policy", _API_CSP)
                if self.hsts:
                    headers.setdefault(
                        "Strict-Transport-Security", "max-age=63072000; includeSubDomains"
                    )
            await send(message)

        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, send_wrapper)
        except Exception as exc:
            if dependency_down(exc):
                # The database, Redis or the blob store is not answering: the client may retry.
                log.warning(
                    "request.dependency_unavailable",
                    error_type=type(exc).__name__,
                    error=str(exc)[:300],
                )
                if response_started:
                    raise
                await send_json_error(
                    send_wrapper,
                    503,
                    "service_unavailable",
                    DEPENDENCY_DOWN_MESSAGE,
                    request_id,
                    headers={"Retry-After": str(DEPENDENCY_RETRY_AFTER)},
                )
                return
            log.exception("request.unhandled_error", error_type=type(exc).__name__)
            sentry.report(exc, request_id=request_id, route=route_template(scope))
            if response_started:
                raise
            await send_json_error(
                send_wrapper, 500, "internal_error", "Internal server error", request_id
            )
        finally:
            self.metrics.in_flight.dec()
            elapsed = time.perf_counter() - started
            route = route_template(scope)
            self.metrics.observe(scope["method"], route, status, elapsed)
            log.info(
                "http.request",
                method=scope["method"],
                path=scope["path"],
                route=route,
                status=status,
                duration_ms=round(elapsed * 1000, 2),
                client=_client_host(scope),
            )
            structlog.contextvars.unbind_contextvars("request_id", "client_request_id")


def _client_host(scope: Scope) -> str | None:
    client: Any = scope.get("client")
    return client[0] if client else None


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))[:300]
    return None


@dataclass(frozen=True)
class BodyDeadlines:
    """How slowly a client may send a request body before it is answered 408.

    `idle_seconds` bounds each wait for the next chunk. After `grace_seconds` of waiting, the
    body must also average `min_bytes_per_second` over the time spent waiting for it (0: no
    minimum): a client trickling a byte every few seconds never trips the idle limit alone,
    yet would hold a connection and a worker slot for as long as it liked. Only the time spent
    waiting for the client counts, never the time the app takes before it reads.
    """

    idle_seconds: float
    grace_seconds: float
    min_bytes_per_second: int

    def budget(self, received: int, waited: float) -> float:
        """Seconds the next wait for a chunk may take."""
        if self.min_bytes_per_second == 0:
            return self.idle_seconds
        allowed = max(self.grace_seconds, received / self.min_bytes_per_second)
        return min(self.idle_seconds, allowed - waited)


class BodySizeLimitMiddleware:
    """Refuses bodies over the global limit (by Content-Length up front, else while streaming)
    and bodies that arrive too slowly (see `BodyDeadlines`)."""

    def __init__(
        self, app: ASGIApp, *, max_bytes: int, deadlines: BodyDeadlines | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.deadlines = deadlines

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = scope.get("state", {}).get("request_id")
        message = f"Request body exceeds the limit of {self.max_bytes} bytes"
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await send_json_error(
                        send, 400, "bad_request", "Invalid Content-Length", request_id
                    )
                    return
                if declared > self.max_bytes:
                    await send_json_error(send, 413, "payload_too_large", message, request_id)
                    return
        reader = _BodyReader(receive, self.max_bytes, self.deadlines, scope["path"])
        response_started = False

        async def tracking_send(msg: Message) -> None:
            nonlocal response_started
            if msg["type"] == "http.response.start":
                response_started = True
            await send(msg)

        try:
            await self.app(scope, reader, tracking_send)
        except _BodyTooLarge:
            if response_started:
                raise
            await send_json_error(send, 413, "payload_too_large", message, request_id)
        except _BodyTimeout as exc:
            if response_started:
                raise
            await send_json_error(
                send, 408, RequestTimeout.code, exc.detail, request_id, {"Connection": "close"}
            )


class _BodyReader:
    """The app's `receive`: counts the body against the size limit and times each wait for
    the next chunk against the deadlines."""

    def __init__(
        self, receive: Receive, max_bytes: int, deadlines: BodyDeadlines | None, path: str
    ) -> None:
        self.receive = receive
        self.max_bytes = max_bytes
        self.deadlines = deadlines
        self.path = path
        self.received = 0
        self.waited = 0.0
        self.complete = False

    async def __call__(self) -> Message:
        message = await self._next()
        if message["type"] == "http.disconnect":
            self.complete = True
        elif message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            self.complete = not message.get("more_body", False)
            if self.received > self.max_bytes:
                raise _BodyTooLarge(self.max_bytes)
        return message

    async def _next(self) -> Message:
        # Once the body is in, the app may wait on receive() for a disconnect for as long as
        # its response takes; only the body itself is timed.
        if self.deadlines is None or self.complete:
            return await self.receive()
        budget = self.deadlines.budget(self.received, self.waited)
        started = time.monotonic()
        try:
            if budget <= 0:
                raise TimeoutError
            async with asyncio.timeout(budget):
                return await self.receive()
        except TimeoutError:
            log.warning(
                "http.body_timeout",
                path=self.path,
                received_bytes=self.received,
                waited_seconds=round(self.waited + time.monotonic() - started, 2),
            )
            raise _BodyTimeout from None
        finally:
            self.waited += time.monotonic() - started


class _BodyTooLarge(HTTPException):
    """An HTTPException so FastAPI's body parsing lets it through to the error handler."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"Request body exceeds the limit of {max_bytes} bytes")


class _BodyTimeout(HTTPException):
    """An HTTPException for the same reason; the rest of the body is never read, so the
    connection cannot carry another request."""

    def __init__(self) -> None:
        super().__init__(
            408, "The request body arrived too slowly", headers={"Connection": "close"}
        )
