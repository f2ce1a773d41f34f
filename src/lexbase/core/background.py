"""Fire-and-forget tasks that are not lost: the event loop keeps only weak references to
tasks, so one nobody holds can be collected before it runs. Every background task started
from a synchronous hook (after a commit, say) goes through `spawn`, which holds it until it
is done."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

_RUNNING: set[asyncio.Task[Any]] = set()


def spawn(coroutine: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
    task = asyncio.get_running_loop().create_task(coroutine)
    _RUNNING.add(task)
    task.add_done_callback(_RUNNING.discard)
    return task
