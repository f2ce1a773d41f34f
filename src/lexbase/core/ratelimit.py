"""Request rate limiting with the `limits` library: memory storage embedded, Redis distributed."""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network

import structlog
from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from redis.exceptions import RedisError
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lexbase.core.config import Settings
from lexbase.core.metrics import work
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
        self.auth_failures = RouteClass(
            "failed authentication", parse(settings.rate_limit_auth_failures)
        )
        self._rules: list[tuple[str | None, str, RouteClass]] = sorted(
            [
                (None, "/api/v1/auth/", RouteClass("auth", parse(settings.rate_limit_auth))),
                (
                    "POST",
                    "/api/v1/auth/register",
                    RouteClass("registration", parse(settings.rate_limit_register)),
                ),
                (
                    "POST",
                    "/api/v1/documents",
                    RouteClass("upload", parse(settings.rate_limit_upload)),
                ),
                (None, "/api/v1/search", RouteClass("search", parse(settings.rate_limit_search))),
                (
                    "POST",
                    "/api/v1/conversations",
                    RouteClass("chat", parse(settings.rate_limit_chat)),
                ),
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


def client_address(scope: Scope, trusted_proxies: list[str]) -> str:
    """The caller's network address. Behind trusted proxies (addresses or networks, such as
    an ingress controller's pod range), the right-most address in X-Forwarded-For that is not
    one of them (addresses to its left are the client's say)."""
    client = scope.get("client")
    host: str = client[0] if client else "unknown"
    networks = _networks(tuple(trusted_proxies))
    if not _trusted(host, networks):
        return host
    for name, value in scope.get("headers", ()):
        if name == b"x-forwarded-for":
            forwarded: str = value.decode("latin-1")
            hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
            for hop in reversed(hops):
                if not _trusted(hop, networks):
                    return hop
    return host


@functools.cache
def _networks(proxies: tuple[str, ...]) -> tuple[IPv4Network | IPv6Network, ...]:
    return tuple(ip_network(proxy, strict=False) for proxy in proxies)


def _trusted(address: str, networks: tuple[IPv4Network | IPv6Network, ...]) -> bool:
    try:
        ip = ip_address(address)
    except ValueError:
        return False  # not an address ("unknown", a forged header's junk): never a proxy
    return any(ip in network for network in networks)


# Resolves a request's credential to the principal it verifiably belongs to ("user:<id>"),
# or None when there is no credential or it does not verify.
Identify = Callable[[Scope], Awaitable[str | None]]


async def _anonymous(_scope: Scope) -> str | None:
    return None


def _carries_credential(scope: Scope) -> bool:
    return any(name in (b"authorization", b"x-api-key") for name, _ in scope.get("headers", ()))


class RateLimitMiddleware:
    """Counts every request against its route class and sets the `X-RateLimit-*` headers.

    A request counts against the principal its credential verifiably belongs to; anything
    else — no credential, or one that does not verify — against its client address, so
    rotating made-up credentials buys no fresh budget. Requests whose credential is refused
    (401) also count against the address's failed-authentication budget; once that is
    spent, the address's unverified requests are refused until it recovers."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        storage: Callable[[], Storage],
        policy: RateLimitPolicy,
        trusted_proxies: list[str],
        identify: Identify = _anonymous,
    ) -> None:
        self.app = app
        # The storage belongs to the lifespan's resources, which exist only once the app starts.
        self.storage = storage
        self._limiter: MovingWindowRateLimiter | None = None
        self.policy = policy
        self.trusted_proxies = trusted_proxies
        self.identify = identify

    def _current_limiter(self) -> MovingWindowRateLimiter:
        if self._limiter is None or self._limiter.storage is not self.storage():
            self._limiter = MovingWindowRateLimiter(self.storage())
        return self._limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] == "OPTIONS":
            await self.app(scope, receive, send)
            return
        route_class = self.policy.classify(scope["method"], scope["path"])
        address = "ip:" + client_address(scope, self.trusted_proxies)
        limiter = self._current_limiter()
        failures = self.policy.auth_failures
        try:
            principal = await self.identify(scope)
            identity = principal or address
            blocked_by = route_class
            if principal is None and not await limiter.test(failures.limit, failures.name, address):
                allowed, blocked_by = False, failures
            else:
                allowed = await limiter.hit(route_class.limit, route_class.name, identity)
            stats = await limiter.get_window_stats(blocked_by.limit, blocked_by.name, identity)
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
            work().rate_limited.labels(blocked_by.name).inc()
            retry_after = max(1, math.ceil(stats.reset_time - time.time()))
            request_id = scope.get("state", {}).get("request_id")
            await send_json_error(
                send,
                429,
                "rate_limited",
                f"Rate limit exceeded for {blocked_by.name} requests; retry in {retry_after}s",
                request_id,
                headers={**headers, "Retry-After": str(retry_after)},
            )
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                if message["status"] == 401 and _carries_credential(scope):
                    await self._count_failure(limiter, address)
                mutable = MutableHeaders(scope=message)
                for key, value in headers.items():
                    mutable[key] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _count_failure(self, limiter: MovingWindowRateLimiter, address: str) -> None:
        failures = self.policy.auth_failures
        try:
            await limiter.hit(failures.limit, failures.name, address)
        except (RedisError, OSError) as exc:
            log.warning("ratelimit.storage_unavailable", error_type=type(exc).__name__)


async def spend(storage: Storage, limit: str, name: str, identity: str) -> bool:
    """Spend one of `identity`'s `limit` in the class `name` (as the middleware counts an
    HTTP request of that class): False when it is used up. A store that is down allows."""
    try:
        return await MovingWindowRateLimiter(storage).hit(parse(limit), name, identity)
    except (RedisError, OSError) as exc:
        log.warning("ratelimit.storage_unavailable", error_type=type(exc).__name__)
        return True
