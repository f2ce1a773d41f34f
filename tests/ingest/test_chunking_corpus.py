"""Chunking invariants on real documents: the CUAD dev slice and Arkansas opinions."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from lexbase.ingest.chunking import chunk
from lexbase.ingest.types import PAGE_SEPARATOR, PageSpan
from tests.ingest.test_chunking import check_invariants

SHARED = Path(__file__).resolve().parents[3] / "shared"
CUAD = SHARED / "eval" / "legalbench-cuad"
CONTRACTS = [
    CUAD / "corpus" / name for name in json.loads((CUAD / "corpus-small.json").read_text())
]
OPINIONS = sorted((SHARED / "fixtures" / "opinions").glob("*.txt"))[::9][:30]


def _paged(text: str, every: int) -> tuple[str, list[PageSpan]]:
    """`text` with a page separator about every `every` characters, at a line end when near."""
    parts, start = [], 0
    while len(text) - start > every:
        cut = text.rfind("\n", start + every // 2, start + every)
        cut = cut if cut > start else start + every  # no line end near: break mid-line
        parts.append(text[start:cut])
        start = cut
    parts.append(text[start:])
    pages, offset = [], 0
    for number, part in enumerate(parts, start=1):
        pages.append(PageSpan(number, offset, offset + len(part)))
        offset += len(part) + len(PAGE_SEPARATOR)
    return PAGE_SEPARATOR.join(parts), pages


@pytest.mark.parametrize("path", CONTRACTS + OPINIONS, ids=lambda p: p.name[:60])
def test_real_documents_keep_every_invariant(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    chunks = chunk(text, [])
    check_invariants(text, chunks)
    assert all(c.page is None for c in chunks)

    paged, pages = _paged(text, 3000)
    chunks = chunk(paged, pages, target_chars=800, max_chars=1200, min_chars=150)
    check_invariants(paged, chunks, 1200)
    for c in chunks:
        span = pages[c.page - 1] if c.page else None
        assert span is not None and span.start <= c.start and c.end <= span.end


def test_contract_chunks_start_at_clause_or_sentence_boundaries() -> None:
    starts = labelled = total = 0
    for path in CONTRACTS:
        text = path.read_text(encoding="utf-8")
        for c in chunk(text, []):
            before = text[: c.start].rstrip()
            new_line = "\n" in text[len(before) : c.start]
            starts += not before or new_line or before[-1] in ".;:!?\"')]\u201d\u2019"
            labelled += c.section is not None
            total += 1
    # The rest are the whitespace fallback inside flattened tables and contents pages.
    assert starts / total > 0.98
    assert labelled / total > 0.9


def test_throughput_is_linear_in_document_size() -> None:
    text = "\n\n".join(p.read_text(encoding="utf-8") for p in CONTRACTS[:10])
    timings = []
    for copies in (1, 8):
        start = time.process_time()
        chunks = chunk(text * copies, [])
        timings.append(time.process_time() - start)
        assert chunks[-1].end == len((text * copies).rstrip())
    assert timings[1] < 20 * max(timings[0], 0.01)  # quadratic work would be ~64 times slower
