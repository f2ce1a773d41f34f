"""The CPU-stage process pool's workers never outlive the process that made them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

SCRIPT = """
import asyncio, os
from lexbase.core.processes import ProcessPool

async def main():
    pool = ProcessPool(processes=1, memory_mb=1024)
    print(await pool.run(os.getpid, limit_seconds=60), flush=True)
    await asyncio.sleep(60)

asyncio.run(main())
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_workers_die_with_their_parent_even_on_sigkill() -> None:
    parent = subprocess.Popen([sys.executable, "-c", SCRIPT], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    worker = int(parent.stdout.readline())
    assert worker != parent.pid
    assert alive(worker)
    parent.send_signal(signal.SIGKILL)
    parent.wait(timeout=30)
    deadline = time.monotonic() + 10
    while alive(worker) and time.monotonic() < deadline:
        time.sleep(0.05)
    if alive(worker):
        os.kill(worker, signal.SIGKILL)
        raise AssertionError("the worker outlived its parent")
