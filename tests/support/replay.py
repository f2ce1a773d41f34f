"""A local HTTP server that answers as Anthropic's and Google's APIs do, from their recorded
response shapes (tests/providers/recorded/), and keeps every request it was sent."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.support.serve import on_loopback

RECORDED = Path(__file__).parent.parent / "providers" / "recorded"


def recorded(name: str) -> Any:
    return json.loads((RECORDED / name).read_text())


def sse_events(name: str) -> list[str]:
    return [e for e in (RECORDED / name).read_text().split("\n\n") if e.strip()]


@dataclass
class Replay:
    """Answers as the real API would, or fails as the next planned fault says; an `answer`
    replaces the recorded text (same shapes) where a test needs its own words back, and
    `answers` give one such text per request, in turn, before `answer` applies."""

    plan: list[str] = field(default_factory=list)
    requests: list[tuple[str, dict[str, str], dict[str, Any]]] = field(default_factory=list)
    answer: str | None = None
    answers: list[str] = field(default_factory=list)
    delay: float = 0.0  # seconds each answer takes

    def _text(self) -> str | None:
        return self.answers.pop(0) if self.answers else self.answer

    async def _take(self, request: Request) -> tuple[str, dict[str, Any]]:
        body = json.loads(await request.body())
        self.requests.append((request.url.path, dict(request.headers), body))
        fault = self.plan.pop(0) if self.plan else "ok"
        if self.delay:
            await asyncio.sleep(self.delay)
        if fault == "hang":
            await asyncio.sleep(3600)
        return fault, body

    def _split(self) -> tuple[str, str] | None:
        if self.answer is None:
            return None
        half = len(self.answer) // 2
        return self.answer[:half], self.answer[half:]

    async def anthropic(self, request: Request) -> Response:
        fault, body = await self._take(request)
        if fault == "429":
            return JSONResponse(
                recorded("anthropic_rate_limit.json"), 429, headers={"retry-after": "1"}
            )
        if fault == "529":
            return JSONResponse(recorded("anthropic_overloaded.json"), 529)
        if fault == "400":
            return JSONResponse(recorded("anthropic_invalid.json"), 400)
        if not body.get("stream"):
            message = recorded("anthropic_message.json")
            if (text := self._text()) is not None:
                message["content"][0]["text"] = text
            return JSONResponse(message, headers={"request-id": "req_replay"})
        events = sse_events("anthropic_stream.sse")
        parts = self._split()
        if parts is not None:
            deltas = iter(parts)
            events = [_with_delta(e, next(deltas)) if "text_delta" in e else e for e in events]
        return _stream(events)

    async def gemini(self, request: Request) -> Response:
        fault, _ = await self._take(request)
        if fault == "429":
            return JSONResponse(
                recorded("gemini_exhausted.json"), 429, headers={"retry-after": "1"}
            )
        if fault == "503":
            return JSONResponse(recorded("gemini_unavailable.json"), 503)
        if fault == "400":
            return JSONResponse(recorded("gemini_invalid.json"), 400)
        if request.url.path.endswith(":generateContent"):
            response = recorded("gemini_generate.json")
            if (text := self._text()) is not None:
                response["candidates"][0]["content"]["parts"][0]["text"] = text
            return JSONResponse(response)
        events = sse_events("gemini_stream.sse")
        parts = self._split()
        if parts is not None:
            chunks = [json.loads(e.removeprefix("data: ")) for e in events]
            for chunk, text in zip(chunks, parts, strict=True):
                chunk["candidates"][0]["content"]["parts"][0]["text"] = text
            events = ["data: " + json.dumps(c) for c in chunks]
        return _stream(events)


def _with_delta(event: str, text: str) -> str:
    name, data = event.split("\n", 1)
    payload = json.loads(data.removeprefix("data: "))
    payload["delta"]["text"] = text
    return f"{name}\ndata: {json.dumps(payload)}"


def _stream(events: list[str]) -> StreamingResponse:
    async def body() -> AsyncIterator[bytes]:
        for event in events:
            yield (event + "\n\n").encode()
            await asyncio.sleep(0)

    return StreamingResponse(body(), media_type="text/event-stream")


@asynccontextmanager
async def replay_server() -> AsyncIterator[tuple[Replay, str]]:
    """The server on a free 127.0.0.1 port, and its base URL."""
    server = Replay()
    app = Starlette(
        routes=[
            Route("/v1/messages", server.anthropic, methods=["POST"]),
            Route("/v1/models/{rest:path}", server.gemini, methods=["POST"]),
        ]
    )
    async with on_loopback(app, timeout_graceful_shutdown=1) as port:
        yield server, f"http://127.0.0.1:{port}"
