"""The CPU-stage process pool's workers never outlive the process that made them."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

import pytest

from lexbase.core.processes import ProcessPool, WorkerLost

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


def _allocate(megabytes: int) -> int:
    block = bytearray(megabytes * 1024 * 1024)
    return len(block)


def _peak_rss_mb() -> float:
    """This process's peak resident set since it started its program. Not getrusage's
    ru_maxrss: Linux carries that across exec, so a worker spawned from a large parent would
    report the parent's size at the fork."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM in /proc/self/status")


async def test_a_worker_over_its_memory_cap_fails_cleanly_and_the_pool_recovers() -> None:
    pool = ProcessPool(processes=1, memory_mb=512)
    try:
        with pytest.raises(WorkerLost, match="memory"):
            await pool.run(_allocate, 2048, limit_seconds=60)
        assert await pool.run(_allocate, 16, limit_seconds=60) == 16 * 1024 * 1024
    finally:
        await pool.close()


async def test_the_largest_filing_is_processed_well_under_a_gigabyte() -> None:
    from lexbase.ingest.limits import Limits
    from lexbase.ingest.pipeline import run_pipeline
    from lexbase.ingest.sniff import detect
    from tests.documents.helpers import FILINGS

    largest = max(FILINGS.rglob("*.pdf"), key=lambda p: p.stat().st_size)
    data = largest.read_bytes()
    pool = ProcessPool(processes=1, memory_mb=1536)
    try:
        output = await pool.run(
            run_pipeline, data, detect(data, largest.name), Limits(), limit_seconds=600
        )
        assert output.chunks
        peak = await pool.run(_peak_rss_mb, limit_seconds=60)
    finally:
        await pool.close()
    assert peak < 1024, f"{largest.name}: worker peaked at {peak:.0f} MB"


def _fail_to_warm() -> None:
    raise RuntimeError("model missing")


def _marker() -> str:
    return os.environ.get("LEXBASE_WARM_MARK", "")


def _mark(value: str) -> None:
    os.environ["LEXBASE_WARM_MARK"] = value


async def test_warm_up_runs_in_every_process_and_never_breaks_the_pool() -> None:
    pool = ProcessPool(processes=2, memory_mb=1024)
    try:
        await pool.warm(_mark, "warm", limit_seconds=60)
        marks = [pool.run(_marker, limit_seconds=60) for _ in range(6)]
        assert set(await asyncio.gather(*marks)) == {"warm"}
    finally:
        await pool.close()
    broken = ProcessPool(processes=1, memory_mb=1024)
    try:
        await broken.warm(_fail_to_warm, limit_seconds=60)
        assert await broken.run(_allocate, 1, limit_seconds=60) == 1024 * 1024
    finally:
        await broken.close()
