"""`lexbase eval-chat`: every question of a retrieval eval set through the whole chat path.

The corpus is ingested as for `lexbase eval`; each question is asked in a new conversation of
the evaluation firm, streamed as a client would receive it. Reported:
- **verified**: the share of citations whose quote is exactly `text[start:end]` of the cited
  document (must be 100%);
- **hit rate**: the share of answers with at least one citation overlapping a ground-truth
  span of the question;
- **sources hit rate**: the share of answers whose packed sources (the `sources` event)
  overlap a ground-truth span — what the answer could have cited at best;
- **cited-character precision**: of all characters cited, the share inside ground truth;
- **grounded**: the share of answers whose every sentence a source supports;
- time to first token and total time, p50 / p95.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from lexbase.chat.deps import ChatState
from lexbase.chat.schemas import ConversationCreate
from lexbase.chat.service import ChatService
from lexbase.commands.evaluate import eval_principal, prepare_firm
from lexbase.commands.ingest import IngestOptions, Reporter, ingest
from lexbase.core.config import Settings
from lexbase.core.db import transaction
from lexbase.core.principal import Principal
from lexbase.documents.repository import DocumentContentRepository, DocumentRepository
from lexbase.providers.resources import open_resources
from lexbase.search.deps import SearchState


@dataclass
class ChatEvalReport:
    answers: int = 0
    citations: int = 0
    verified: int = 0
    hits: int = 0
    source_hits: int = 0
    grounded: int = 0
    cited_chars: int = 0
    relevant_chars: int = 0
    first_token_s: list[float] = field(default_factory=list)
    total_s: list[float] = field(default_factory=list)
    ingest_seconds: float = 0.0

    def lines(self) -> list[str]:
        def share(n: int, of: int) -> str:
            return f"{100 * n / of:.1f}%" if of else "n/a"

        return [
            f"answers {self.answers}, citations {self.citations}",
            f"verified citations {share(self.verified, self.citations)}",
            f"citation hit rate {share(self.hits, self.answers)}",
            f"sources hit rate {share(self.source_hits, self.answers)}",
            f"cited-character precision {share(self.relevant_chars, self.cited_chars)}",
            f"grounded answers {share(self.grounded, self.answers)}",
            f"time to first token {percentiles(self.first_token_s)}",
            f"total time {percentiles(self.total_s)}",
        ]


def percentiles(values: Sequence[float]) -> str:
    if not values:
        return "n/a"
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return f"p50 {statistics.median(ordered):.2f} s, p95 {p95:.2f} s"


@dataclass
class EvalFirm:
    """The evaluation firm with its corpus ingested, and what answering needs."""

    resources: Any
    search: SearchState
    chat: ChatState
    principal: Principal
    path_of: dict[str, str]  # document id -> corpus file
    ingest_seconds: float

    @property
    def service(self) -> ChatService:
        return ChatService(self.resources, self.search, self.chat)


@asynccontextmanager
async def eval_firm(
    settings: Settings, corpus_dir: Path, files: Sequence[str], reporter: Reporter
) -> AsyncIterator[EvalFirm]:
    """Ingest the corpus into the evaluation firm (as `lexbase eval` does) and open the
    resources chat answers with; closed on exit."""
    await prepare_firm(settings)
    started = time.monotonic()
    summary = await ingest(
        settings,
        [corpus_dir / f for f in files],
        "eval-runner@lexbase-eval.test",
        IngestOptions(concurrency=4, timeout=24 * 3600),
        reporter,
    )
    ingest_seconds = time.monotonic() - started
    if summary.failures:
        raise RuntimeError(f"{len(summary.failures)} corpus files failed to ingest")
    by_name = {Path(f).name: f for f in files}
    resources = open_resources(settings)
    search, chat = SearchState.create(settings), ChatState.open(settings)
    try:
        await search.embedder.wait()
        principal = await eval_principal(resources.sessionmaker)
        async with transaction(resources.sessionmaker) as session:
            names = await DocumentRepository(session).filenames(principal)
        path_of = {id_: by_name[name] for id_, name in names.items() if name in by_name}
        yield EvalFirm(resources, search, chat, principal, path_of, ingest_seconds)
    finally:
        await chat.close()
        await search.embedder.close()
        await resources.close()


async def run_chat_eval(
    settings: Settings,
    corpus_dir: Path,
    files: Sequence[str],
    queries: Sequence[dict[str, Any]],
    *,
    reporter: Reporter,
    progress: TextIO | None = None,
) -> ChatEvalReport:
    report = ChatEvalReport()
    async with eval_firm(settings, corpus_dir, files, reporter) as firm:
        report.ingest_seconds = firm.ingest_seconds
        texts: dict[str, str] = {}
        service = firm.service
        for number, test in enumerate(queries, start=1):
            conversation = await service.create(firm.principal, ConversationCreate())
            begun = time.perf_counter()
            first: float | None = None
            message: dict[str, Any] = {}
            sources: list[dict[str, Any]] = []
            async for name, data in service.ask_streaming(
                firm.principal, conversation.id, test["query"][:8000]
            ):
                if name == "sources":
                    sources = data["sources"]
                if name == "token" and first is None:
                    first = time.perf_counter() - begun
                if name == "done":
                    message = data["message"]
            report.total_s.append(time.perf_counter() - begun)
            if first is not None:
                report.first_token_s.append(first)
            await _score(firm.resources, report, message, test, firm.path_of, texts)
            truth = _truth(test)
            report.source_hits += any(
                _overlap(s["start"], s["end"], firm.path_of.get(s["document_id"]), truth)
                for s in sources
            )
            if progress is not None and number % 10 == 0:
                progress.write(f"\r{number}/{len(queries)} questions")
                progress.flush()
    return report


async def _score(
    resources: Any,
    report: ChatEvalReport,
    message: dict[str, Any],
    test: dict[str, Any],
    path_of: dict[str, str],
    texts: dict[str, str],
) -> None:
    report.answers += 1
    report.grounded += bool(message.get("grounded"))
    truth = _truth(test)
    hit = False
    for citation in message.get("citations", []):
        report.citations += 1
        document_id = citation["document_id"]
        if document_id not in texts:
            async with transaction(resources.sessionmaker) as session:
                stored = await DocumentContentRepository(session).text_of(document_id)
            texts[document_id] = stored.text if stored is not None else ""
        start, end = citation["start"], citation["end"]
        report.verified += texts[document_id][start:end] == citation["quote"]
        report.cited_chars += end - start
        overlap = _overlap(start, end, path_of.get(document_id), truth)
        if overlap:
            hit = True
            report.relevant_chars += overlap
    report.hits += hit


Span = tuple[str, int, int]


def _truth(test: dict[str, Any]) -> list[Span]:
    return [(s["file_path"], s["span"][0], s["span"][1]) for s in test.get("snippets", [])]


def _overlap(start: int, end: int, path: str | None, truth: Sequence[Span]) -> int:
    """The most characters of [start, end) in `path` that one ground-truth span covers."""
    overlaps = [
        min(end, hi) - max(start, lo)
        for file_path, lo, hi in truth
        if file_path == path and start < hi and end > lo
    ]
    return max(overlaps, default=0)
