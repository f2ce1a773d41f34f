"""Which `lexbase worker` processes are alive: each one's sweeper keeps a key in Redis with a
time to live a few sweeps long, so a worker killed outright drops out of the count by itself."""

from __future__ import annotations

from redis.asyncio import Redis

PREFIX = "lexbase:worker:"


def ttl_seconds(poll_seconds: float) -> int:
    """Three sweeps, at least ten seconds: one slow sweep does not make a worker vanish."""
    return max(10, int(poll_seconds * 3) + 1)


async def announce(redis: Redis, node: str, ttl: int) -> None:
    await redis.set(PREFIX + node, "1", ex=ttl)


async def withdraw(redis: Redis, node: str) -> None:
    await redis.delete(PREFIX + node)


async def live_workers(redis: Redis) -> int:
    count = 0
    async for _ in redis.scan_iter(match=PREFIX + "*", count=500):
        count += 1
    return count
