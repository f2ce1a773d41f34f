"""Run a real `lexbase serve` process for a test, and stop it (and its workers) after."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

LEXBASE = [sys.executable, "-m", "lexbase"]


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
