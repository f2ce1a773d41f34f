"""Run a real `lexbase serve` process for a test, and stop it (and its workers) after; serve an
ASGI app over real HTTP inside a test's event loop."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from tests.support.services import find_free_port

LEXBASE = [sys.executable, "-m", "lexbase"]


@asynccontextmanager
async def on_loopback(app: Any, **config: Any) -> AsyncIterator[int]:
    """Serve the ASGI `app` with uvicorn on a free port of 127.0.0.1, in this event loop, for
    the block; the port."""
    port = find_free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, **config)
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn exposes only a flag
        await asyncio.sleep(0.02)
    try:
        yield port
    finally:
        server.should_exit = True
        await task


def inherited_environment() -> dict[str, str]:
    """This process's environment without its `LEXBASE_` settings (the shared model directory
    kept), for a `lexbase` process whose settings the caller gives."""
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("LEXBASE_") or k == "LEXBASE_MODEL_DIR"
    }


@contextmanager
def lexbase_serve(
    env: dict[str, str], port: int, log: Path
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """Start the server with `env` (its output appended to `log`) and wait until it is
    ready; yields the process and its base URL."""
    with log.open("ab") as output:
        process = subprocess.Popen(
            [*LEXBASE, "serve"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, log.read_text()[-3000:]
            try:
                if httpx.get(f"{base}/health/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "lexbase serve never became ready"
            time.sleep(0.2)
        yield process, base
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)
