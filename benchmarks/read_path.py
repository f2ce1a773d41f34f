"""What one authenticated read costs, part by part, against the bare floor — in-process.

    .venv/bin/python benchmarks/read_path.py [--requests N] [--rounds R] [--profile PATH]

The load test (benchmarks/load_test.py) measures throughput from outside; this says where a
request's CPU goes. One `create_app` on a fresh SQLite data directory (a firm, a user, one
indexed document), driven by ASGI calls made in this process one after another — no HTTP
server, no client, so what is timed is the app alone — beside the load test's floor: a bare
FastAPI app reading the same `documents` row by primary key with SQLAlchemy Core on the same
file and driver. For each route it prints the CPU milliseconds per request (every thread of
the process, aiosqlite's included; the best of R rounds of N requests, rounds interleaved so
the machine's noise falls on all alike) and the trips to aiosqlite's thread per request:

- `/health/live`: the middleware stack and routing alone;
- `/api/v1/auth/me`: the access token checked and the principal read (one joined row);
- `/api/v1/documents/{id}`: the same, plus the scoped document read (the load test's read);
- the floor's `/documents/{id}`.

`--profile PATH` writes a cProfile of N document reads (self time is meaningful; a
coroutine's cumulative time is not).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import cProfile
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ASGIApp = Callable[
    [MutableMapping[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]],
    Awaitable[None],
]


async def get(app: ASGIApp, path: str, token: str | None = None) -> None:
    """One GET straight into the ASGI app; fails unless it answers 200."""
    headers = [(b"host", b"bench")]
    if token:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
        "state": {},
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    status = sent[0]["status"]
    if status != 200:
        raise RuntimeError(f"GET {path} answered {status}: {sent[1:]}")


def floor_app(database_url: str) -> Any:
    """The load test's floor: FastAPI, one Core select by primary key, the row as JSON."""
    from fastapi import FastAPI, HTTPException
    from sqlalchemy import MetaData, Table, select
    from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

    held: dict[str, Any] = {}

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        engine: AsyncEngine = create_async_engine(database_url)
        metadata = MetaData()
        async with engine.connect() as connection:
            await connection.run_sync(lambda sync: metadata.reflect(sync, only=["documents"]))
        held.update(engine=engine, documents=metadata.tables["documents"])
        yield
        await engine.dispose()

    app = FastAPI(lifespan=lifespan, openapi_url=None)

    @app.get("/documents/{document_id}")
    async def read(document_id: str) -> dict[str, Any]:
        documents: Table = held["documents"]
        async with held["engine"].connect() as connection:
            statement = select(documents).where(documents.c.id == document_id)
            row = (await connection.execute(statement)).mappings().first()
        if row is None:
            raise HTTPException(status_code=404)
        return dict(row)

    return app


class TripCounter:
    """Counts the calls queued to aiosqlite's thread (each one a trip there and back)."""

    def __init__(self) -> None:
        import aiosqlite.core

        self.counts: collections.Counter[str] = collections.Counter()
        self.on = False
        original = aiosqlite.core.Connection._execute
        counter = self

        async def counted(connection: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
            if counter.on:
                counter.counts[getattr(fn, "__name__", type(fn).__name__)] += 1
            return await original(connection, fn, *args, **kwargs)  # type: ignore[no-untyped-call]

        aiosqlite.core.Connection._execute = counted  # type: ignore[method-assign,assignment]

    async def per_request(self, call: Callable[[], Awaitable[None]], n: int) -> float:
        self.counts.clear()
        self.on = True
        for _ in range(n):
            await call()
        self.on = False
        return sum(self.counts.values()) / n


async def cpu_ms(call: Callable[[], Awaitable[None]], n: int) -> float:
    started = time.process_time()
    for _ in range(n):
        await call()
    return (time.process_time() - started) * 1000 / n


async def prepare(app: Any) -> tuple[str, str]:
    """A firm, its partner's access token and one indexed document (the tests' own steps)."""
    import httpx
    from tests.auth.helpers import login, register
    from tests.documents.helpers import upload, wait_done

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as c:
        user = await register(c)
        token = str((await login(c, user["email"]))["access_token"])
        headers = {"Authorization": f"Bearer {token}"}
        memo = b"MEMORANDUM\n\nThe lessee shall pay rent on the first day of each month.\n"
        accepted = await upload(c, headers, memo, "memo.txt")
        document = await wait_done(c, headers, accepted["document"]["id"], limit=180)
        if document["status"] != "indexed":
            raise RuntimeError(f"the seed document was not indexed: {document}")
    return token, str(document["id"])


async def main(args: argparse.Namespace) -> None:
    from lexbase.app import create_app
    from lexbase.core.config import Environment, Settings
    from lexbase.core.logging import configure_logging
    from lexbase.core.migrate import upgrade

    directory = Path(tempfile.mkdtemp(prefix="lexbase-read-path-"))
    # The access log goes to a file, as a deployed server's does (not a terminal).
    log_file = (directory / "server.log").open("w")
    sys.stderr = log_file  # the handler made now keeps this stream
    configure_logging("INFO", json=True)
    sys.stderr = sys.__stderr__
    settings = Settings(
        _env_file=None,
        env=Environment.TEST,
        data_dir=directory,
        secret_key="read-path-benchmark-" + "x" * 24,
        rate_limit_enabled=False,  # as in the load test
        worker_processes=1,
    )
    upgrade(settings)
    app = create_app(settings)
    counter = TripCounter()
    async with app.router.lifespan_context(app):
        token, document_id = await prepare(app)
        await app.state.warm_up
        floor = floor_app(settings.resolved_database_url)
        async with floor.router.lifespan_context(floor):
            document_path = f"/api/v1/documents/{document_id}"
            routes: dict[str, Callable[[], Awaitable[None]]] = {
                "/health/live": lambda: get(app, "/health/live"),
                "/api/v1/auth/me": lambda: get(app, "/api/v1/auth/me", token),
                "/api/v1/documents/{id}": lambda: get(app, document_path, token),
                "floor /documents/{id}": lambda: get(floor, f"/documents/{document_id}"),
            }
            for call in routes.values():  # warm every path: caches, statements, pools
                for _ in range(200):
                    await call()
            best: dict[str, float] = {}
            for _ in range(args.rounds):
                for name, call in routes.items():
                    figure = await cpu_ms(call, args.requests)
                    best[name] = min(best.get(name, figure), figure)
            trips = {name: await counter.per_request(call, 100) for name, call in routes.items()}
            if args.profile:
                profile = cProfile.Profile()
                profile.enable()
                for _ in range(args.requests):
                    await routes["/api/v1/documents/{id}"]()
                profile.disable()
                profile.dump_stats(args.profile)
    log_file.close()
    floor_ms = best["floor /documents/{id}"]
    print(f"CPU ms per request (best of {args.rounds} rounds of {args.requests}), in-process:")
    for name, figure in best.items():
        print(
            f"  {name:26s} {figure:6.3f} ms  {figure / floor_ms:5.2f} x the floor  "
            f"{trips[name]:5.1f} trips to aiosqlite's thread"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", type=Path, default=None)
    asyncio.run(main(parser.parse_args()))
