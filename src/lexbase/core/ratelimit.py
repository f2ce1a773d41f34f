"""Request rate limiting with the `limits` library: memory storage embedded, Redis distributed."""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog
from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from redis.exceptions import RedisError
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lexbase.core.config import Settings
from lexbase.core.middleware import send_json_error

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class RouteClass:
    name: str
    limit: RateLimitItem


class RateLimitPolicy:
    """Maps a request to its route class. Longest matching prefix wins."""

    def __init__(self, settings: Settings) -> None:
        self.default = RouteClass("default", parse(settings.rate_limit_default))
        self._rules: list[tuple[str | None, str, RouteClass]] = sorted(
            [
                (None, "/api/v1/auth/", RouteClass("auth", parse(settings.rate_limit_auth))),
                (
                    "POST",
                    "/api/v1/documents",
                    RouteClass("upload", parse(settings.rate_limit_upload)),
                ),
                (None, "/api/v1/search", RouteClass("search", parse(settings.rate_limit_search))),
            ],
            key=lambda rule: len(rule[1]),
            reverse=True,
        )

    def classify(self, method: str, path: str) -> RouteClass:
        for rule_method, prefix, route_class in self._rules:
            if path.startswith(prefix) and (rule_method is None or rule_method == method):
                return route_class
        return self.default


def create_storage(settings: Settings) -> Storage:
    if settings.redis_url:
        uri = "async+" + settings.redis_url
        return RedisStorage(uri, implementation="redispy", key_prefix="lexbase:rl")
    return MemoryStorage()


def client_identity(scope: Scope, trusted_proxies: list[str]) -> str:
    """The caller a limit counts against: its credential if it sent one, else its address."""
    headers = dict(scope.get("headers", ()))
    credential = headers.get(b"authorization") or headers.get(b"x-api-key")
    if credential:
        return "cred:" + hashlib.sha256(credential).hexdigest()[:32]
    client = scope.get("client")
    host = client[0] if client else "unknown"
    forwarded = headers.get(b"x-forwarded-for")
    if forwarded and host in trusted_proxies:
        host = forwarded.decode("latin-1").split(",")[0].strip() or host
    return "ip:" + host


class RateLimitMiddleware:
    """Counts every request against its route class and sets the `X-RateLimit-*` headers."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        storage: Callable[[], Storage],
        policy: RateLimitPolicy,
        trusted_proxies: list[str],
    ) -> None:
        self.app = app
        # The storage belongs to the lifespan's resources, which exist only once the app starts.
        self.storage = storage
        self._limiter: MovingWindowRateLimiter | None = None
        self.policy = policy
        self.trusted_proxies = trusted_proxies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] == "OPTIONS":
            await self.app(scope, receive, send)
            return
        route_class = self.policy.classify(scope["method"], scope["path"])
        identity = client_identity(scope, self.trusted_proxies)
        if self._limiter is None or self._limiter.storage is not self.storage():
            self._limiter = MovingWindowRateLimiter(self.storage())
        limiter = self._limiter
        try:
            allowed = await limiter.hit(route_class.limit, route_class.name, identity)
            stats = await limiter.get_window_stats(route_class.limit, route_class.name, identity)
        except (RedisError, OSError) as exc:  # the limiter's store is down: serve, not refuse
            log.warning("ratelimit.storage_unavailable", error_type=type(exc).__name__)
            await self.app(scope, receive, send)
            return
        reset_at = math.ceil(stats.reset_time)
        headers = {
            "X-RateLimit-Limit": str(route_class.limit.amount),
            "X-RateLimit-Remaining": str(max(stats.remaining, 0)),
            "X-RateLimit-Reset": str(reset_at),
        }
        if not allowed:
            retry_after = max(1, math.ceil(stats.reset_time - time.time()))
            request_id = scope.get("state", {}).get("request_id")
            await send_json_error(
                send,
                429,
                "rate_limited",
                f"Rate limit exceeded for {route_class.name} requests; retry in {retry_after}s",
                request_id,
                headers={**headers, "Retry-After": str(retry_after)},
            )
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                mutable = MutableHeaders(scope=message)
                for key, value in headers.items():
                    mutable[key] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
