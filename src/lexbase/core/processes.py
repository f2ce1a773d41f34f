"""A process pool for CPU-heavy stages that survives crashes, hangs and memory blow-ups.

Work runs in spawned processes (never forked from the threaded, event-looped API process),
each capped by an address-space limit. A crash or a timeout tears the pool down and a fresh
one serves the next call; the caller gets `WorkerLost` and decides whether to retry.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import resource
import signal
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

import structlog

from lexbase.core.logging import quiet_noisy_libraries
from lexbase.core.netguard import deny_network

log = structlog.get_logger(__name__)

T = TypeVar("T")
PR_SET_PDEATHSIG = 1  # linux/prctl.h


class WorkerLost(RuntimeError):
    """The worker process died or overran its time; the work may be retried."""


class WorkerTimedOut(WorkerLost):
    """The worker overran its time (and was killed)."""


def _die_with_parent(parent: int) -> None:
    """Ask Linux to kill this worker when the process that made it dies (SIGKILL included):
    a worker must never outlive its pool, holding memory and a half-finished job."""
    if sys.platform != "linux":
        return
    import ctypes
    import ctypes.util

    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


Warm = tuple[Callable[..., object], tuple[Any, ...]] | None


def _init_worker(memory_bytes: int, parent: int, warm: Warm = None) -> None:
    _die_with_parent(parent)
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    # Model runtimes must not phone home from a law firm's server.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    deny_network()
    quiet_noisy_libraries()
    if warm is not None:
        fn, args = warm
        try:
            fn(*args)
        except Exception as exc:  # a failed warm-up must not break the pool; work loads lazily
            log.warning("processes.warm_up_failed", error=f"{type(exc).__name__}: {exc}")


def _started() -> int:
    return os.getpid()


class ProcessPool:
    def __init__(self, processes: int, memory_mb: int) -> None:
        self.processes = processes
        self.memory_bytes = memory_mb * 1024 * 1024
        self._executor: ProcessPoolExecutor | None = None
        self._lock = asyncio.Lock()
        self._warm: Warm = None

    def _ensure(self) -> ProcessPoolExecutor:
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                max_workers=self.processes,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker,
                initargs=(self.memory_bytes, os.getpid(), self._warm),
            )
        return self._executor

    async def run(self, fn: Callable[..., T], *args: Any, limit_seconds: float) -> T:
        executor = self._ensure()
        future = asyncio.get_running_loop().run_in_executor(executor, fn, *args)
        try:
            return await asyncio.wait_for(future, timeout=limit_seconds)
        except TimeoutError:
            await self._reset(executor, "timeout")
            raise WorkerTimedOut(f"worker exceeded {limit_seconds:.0f}s") from None
        except BrokenProcessPool:
            await self._reset(executor, "crashed")
            raise WorkerLost("worker process died (crash or out of memory)") from None
        except MemoryError:
            raise WorkerLost("worker ran out of memory") from None

    async def warm(self, fn: Callable[..., object], *args: Any, limit_seconds: float) -> None:
        """Run `fn(*args)` (imports, model loads) in every worker process as it starts — now
        and after any restart — and start them all now, so the first real call does not pay
        for it. Workers start when a call finds none idle, so one call per process at once
        starts them all. Processes already running keep going as they are."""
        self._warm = (fn, args)
        await asyncio.gather(
            *(self.run(_started, limit_seconds=limit_seconds) for _ in range(self.processes))
        )

    async def _reset(self, executor: ProcessPoolExecutor, reason: str) -> None:
        async with self._lock:
            if self._executor is not executor:
                return  # another caller already replaced it
            self._executor = None
        log.warning("processes.pool_reset", reason=reason)
        for process in list(getattr(executor, "_processes", {}).values()):
            process.kill()  # a hung worker would otherwise outlive the pool
        await asyncio.to_thread(executor.shutdown, wait=True, cancel_futures=True)

    async def close(self) -> None:
        if self._executor is not None:
            executor, self._executor = self._executor, None
            await asyncio.to_thread(executor.shutdown, wait=True, cancel_futures=True)
