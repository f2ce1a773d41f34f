"""Does signing in stall the server? /health/live latency while logins run in parallel.

    .venv/bin/python benchmarks/login_liveness.py [--logins N] [--seconds S]

Starts `lexbase serve` (SQLite, temporary data dir) in its own process, creates a user,
then measures GET /health/live alone, and again while N clients sign in back to back.
Argon2 runs in a small thread pool (core/security.py); on the event loop, each hash would
hold every other request for its whole duration. Prints p50 / p95 in ms and logins/s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import httpx

PASSWORD = "Correct-Horse-Battery-9"  # noqa: S105 - a throwaway benchmark account


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def probe(c: httpx.AsyncClient, seconds: float) -> list[float]:
    timings: list[float] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.perf_counter()
        await c.get("/health/live")
        timings.append((time.perf_counter() - started) * 1000)
        await asyncio.sleep(0.02)
    return timings


async def sign_in(c: httpx.AsyncClient, email: str, until: float) -> int:
    done = 0
    while time.monotonic() < until:
        response = await c.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        assert response.status_code == 200, response.text
        done += 1
    return done


def summary(label: str, values: list[float]) -> str:
    values = sorted(values)
    return (
        f"{label:28s} /health/live p50 {statistics.median(values):7.2f} ms  "
        f"p95 {values[int(len(values) * 0.95)]:7.2f} ms  n={len(values)}"
    )


def start_server() -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = {
        **os.environ,
        "LEXBASE_DATA_DIR": tempfile.mkdtemp(prefix="lexbase-bench-"),
        "LEXBASE_PORT": str(port),
        "LEXBASE_ENV": "test",
        "LEXBASE_SECRET_KEY": secrets.token_urlsafe(48),
        "LEXBASE_RATE_LIMIT_ENABLED": "false",
        "LEXBASE_LOG_LEVEL": "WARNING",
        "LEXBASE_EMBEDDED_WORKERS": "0",
    }
    lexbase = [sys.executable, "-m", "lexbase"]
    subprocess.run([*lexbase, "migrate"], env=env, check=True, capture_output=True)  # noqa: S603
    server = subprocess.Popen([*lexbase, "serve"], env=env, stdout=subprocess.DEVNULL)  # noqa: S603
    return server, port


async def main(port: int, logins: int, seconds: float) -> None:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as c:
        for _ in range(300):
            try:
                if (await c.get("/health/live")).status_code == 200:
                    break
            except httpx.TransportError:
                await asyncio.sleep(0.1)
        email = "bench@firm.test"
        registered = await c.post(
            "/api/v1/auth/register",
            json={"email": email, "password": PASSWORD, "full_name": "B", "organization_name": "B"},
        )
        assert registered.status_code == 201, registered.text
        idle = await probe(c, seconds)
        until = time.monotonic() + seconds
        busy, *counts = await asyncio.gather(
            probe(c, seconds), *(sign_in(c, email, until) for _ in range(logins))
        )
    print(summary("idle", idle))
    print(summary(f"{logins} clients signing in", busy))
    print(f"logins: {sum(counts) / seconds:.1f}/s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--logins", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    server, port = start_server()
    try:
        asyncio.run(main(port, args.logins, args.seconds))
    finally:
        server.terminate()
        server.wait(timeout=30)
