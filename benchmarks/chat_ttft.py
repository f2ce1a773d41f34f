"""Time to first token of a chat answer with the local model, against its floor.

    LEXBASE_MODEL_DIR=.cache/models .venv/bin/python benchmarks/chat_ttft.py \\
        [--questions 20] [--answer-tokens 160] [--data-dir DIR]

The CUAD small set is ingested (once, when --data-dir is kept), then for each question:
1. the whole chat path streams an answer (`ChatService.ask_streaming`, retrieval included)
   and the time until its first `token` event is taken;
2. retrieval alone is timed, the same prompt is packed, and llama.cpp itself (a separate
   `llama_cpp.Llama` on the same GGUF file, both cores) is asked for one token of it: its
   prompt processing time.
The figure is TTFT / (retrieval + bare prompt processing), p50 and p95; the aim is <= 1.2.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from llama_cpp import Llama

from lexbase.chat.answer import pack
from lexbase.chat.followup import Query
from lexbase.chat.schemas import ConversationCreate
from lexbase.commands.eval_chat import eval_firm, percentiles
from lexbase.commands.evaluate import corpus_files, load_queries
from lexbase.commands.ingest import reporter_for
from lexbase.core.config import Settings
from lexbase.core.logging import configure_logging
from lexbase.providers.llm.local import bundled_model

CUAD = Path(__file__).resolve().parents[2] / "shared" / "eval" / "legalbench-cuad"


async def measure(settings: Settings, questions: int) -> None:
    tests = load_queries(CUAD / "queries-small.json")[:questions]
    files = corpus_files(CUAD / "corpus", CUAD / "corpus-small.json")
    path = settings.llm_local_model_path or bundled_model()
    assert path is not None
    bare = Llama(
        model_path=str(path),
        n_ctx=settings.llm_local_context,
        n_threads=settings.llm_local_threads,
        verbose=False,
    )
    ttft: list[float] = []
    floor: list[float] = []
    ratios: list[float] = []
    async with eval_firm(settings, CUAD / "corpus", files, reporter_for(sys.stderr)) as firm:
        service, llm = firm.service, firm.chat.llm
        assert llm is not None, "the local model must open"
        for test in tests:
            question = test["query"][:8000]
            conversation = await service.create(firm.principal, ConversationCreate())
            begun = time.perf_counter()
            first: float | None = None
            async for name, _ in service.ask_streaming(firm.principal, conversation.id, question):
                if name == "token" and first is None:
                    first = time.perf_counter() - begun
            started = time.perf_counter()
            passages = await service._retrieve(firm.principal, Query(question), None, None)
            retrieval = time.perf_counter() - started
            packed = pack(passages, question, [], llm.primary, settings.chat_answer_tokens)
            messages = [{"role": m.role, "content": m.content} for m in packed.messages]
            started = time.perf_counter()
            for _ in bare.create_chat_completion(messages, max_tokens=1, stream=True):  # type: ignore[arg-type]
                break
            processing = time.perf_counter() - started
            bare.reset()  # no prompt cache carried to the next question
            if first is None:
                continue
            ttft.append(first)
            floor.append(retrieval + processing)
            ratios.append(first / (retrieval + processing))
    print(f"questions {len(ratios)}, answer tokens {settings.chat_answer_tokens}")
    print(f"time to first token (whole chat path) {percentiles(ttft)}")
    print(f"retrieval + bare llama.cpp prompt processing {percentiles(floor)}")
    ordered = sorted(ratios)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] if ordered else float("nan")
    median = statistics.median(ordered) if ordered else float("nan")
    print(f"ratio p50 {median:.2f}, p95 {p95:.2f} (aim <= 1.2)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--questions", type=int, default=20)
    parser.add_argument("--answer-tokens", type=int, default=160)
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()
    configure_logging("WARNING", json=True)
    with tempfile.TemporaryDirectory(prefix="lexbase-ttft-") as scratch:
        base = (args.data_dir or Path(scratch)).resolve()
        base.mkdir(parents=True, exist_ok=True)
        settings = Settings(
            data_dir=base,
            database_url=f"sqlite+aiosqlite:///{base / 'eval.db'}",
            model_dir=Path(os.environ.get("LEXBASE_MODEL_DIR", ".cache/models")).resolve(),
            chat_answer_mode="generated",
            chat_answer_tokens=args.answer_tokens,
            rate_limit_enabled=False,
        )
        asyncio.run(measure(settings, args.questions))


if __name__ == "__main__":
    main()
