"""A server's embedder: made and loaded in the background, never inside a request.

Making the model (model2vec's distillation) takes up to a minute on a fresh data directory;
loading a made one takes about a second. Callers that find the model still being made get
None at once and answer accordingly (search: 503 with Retry-After); callers that find it
loading wait for it, as they would for any first use. `lexbase prepare-models` makes the
model before the server starts, so normally only the load is left.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Literal

import structlog

from lexbase.providers.base import Embedder
from lexbase.providers.embedders import (
    EmbedderSpec,
    is_prepared,
    load_embedder,
    prepare_embedder,
)

log = structlog.get_logger(__name__)

EmbedderState = Literal["building", "loading", "ready", "failed"]

# After a failure, the next caller starts another attempt, at most this often: a model
# that cannot be made should not cost a minute of CPU per request.
RETRY_AFTER_FAILURE_SECONDS = 60.0


class EmbedderHandle:
    """Owned by the lifespan (through search's state): `start()` at startup, `close()` at
    shutdown."""

    def __init__(self, spec: EmbedderSpec) -> None:
        self.spec = spec
        self.state: EmbedderState = "loading" if is_prepared(spec) else "building"
        self._embedder: Embedder | None = None
        self._task: asyncio.Task[None] | None = None
        self._failed_at: float | None = None

    @property
    def ready(self) -> bool:
        return self.state == "ready"

    def start(self) -> None:
        """Make and load the model in the background, unless that is done or under way."""
        if self.ready or (self._task is not None and not self._task.done()):
            return
        failed_at = self._failed_at
        if failed_at is not None and time.monotonic() - failed_at < RETRY_AFTER_FAILURE_SECONDS:
            return
        # Decided before anything runs, so a caller seeing "loading" knows no build follows.
        self.state = "loading" if is_prepared(self.spec) else "building"
        self._task = asyncio.get_running_loop().create_task(self._open())

    async def get(self) -> Embedder | None:
        """The embedder, waiting for it only while it loads: None while the model is still
        being made, or when it could not be made or loaded."""
        self.start()
        if self.state == "loading" and self._task is not None:
            await asyncio.shield(self._task)
        return self._embedder if self.ready else None

    def loaded(self) -> Embedder | None:
        """The embedder if it is ready now, without waiting (None otherwise)."""
        return self._embedder if self.ready else None

    async def wait(self) -> Embedder | None:
        """The embedder once it is made and loaded (None if that failed) — for startup and
        commands, which may wait for a build."""
        self.start()
        if self._task is not None:
            await asyncio.shield(self._task)
        return self._embedder if self.ready else None

    async def close(self) -> None:
        """Stop waiting for a build still running (its thread finishes on its own)."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _open(self) -> None:
        started = time.monotonic()
        bound = log.bind(embedder=self.spec.name, model_dir=self.spec.model_dir)
        try:
            if self.state == "building":
                bound.info("embedder.building")
                await asyncio.to_thread(prepare_embedder, self.spec)
                self.state = "loading"
            embedder = await asyncio.to_thread(load_embedder, self.spec)
        except Exception as exc:  # any model library's failure: reported, never fatal
            self.state, self._failed_at = "failed", time.monotonic()
            bound.error(
                "embedder.failed", error_type=type(exc).__name__, error=str(exc), exc_info=exc
            )
            return
        self._embedder, self.state, self._failed_at = embedder, "ready", None
        bound.info("embedder.ready", seconds=round(time.monotonic() - started, 2))
