"""Quality and throughput of lexbase.ingest.enrich on real documents; prints the figures.

    .venv/bin/python benchmarks/enrichment_eval.py            # opinions, contracts, filings
    .venv/bin/python benchmarks/enrichment_eval.py --quick    # opinions only
    .venv/bin/python benchmarks/enrichment_eval.py --whole    # + eyecite on one 2.2 MB text

Data: /work/shared/fixtures/opinions (288 Arkansas Reports cases with CAP ground truth),
/work/shared/eval/legalbench-cuad (CUAD contracts), /work/shared/fixtures/court-filings (PDFs,
text read with pypdfium2). Opinions are scored twice: on the file as stored (its first four
lines are a header the fixture builder wrote from the ground truth) and on the case as printed
(header removed), so no figure leans on that header.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import re
import statistics
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eyecite import get_citations

from lexbase.ingest.enrich import document_type, enrich
from lexbase.ingest.types import LegalMetadata

SHARED = Path(__file__).resolve().parents[2] / "shared"
OPINIONS = SHARED / "fixtures" / "opinions"
FILINGS = SHARED / "fixtures" / "court-filings"
CUAD = SHARED / "eval" / "legalbench-cuad"
VOLUME_1986 = "32044078577194"


def pct(hits: int, total: int) -> str:
    return f"{100 * hits / total:5.1f}% ({hits}/{total})" if total else "   n/a"


def side_key(side: str) -> str:
    words = re.sub(
        r"^(?:(?:the|state|estate|city|in|re|of|ex|rel\.|adoption|guardianship)\s+)+",
        "",
        side.lower(),
    ).split()
    return words[0].strip(",.") if words else side.lower()


def checks(row: dict[str, Any], found: LegalMetadata, printed: bool) -> dict[str, bool | None]:
    """One case's outcomes; None where a check does not apply to it."""
    modern = row["volume_barcode"] == VOLUME_1986
    own = bool({c.normalized for c in found.citations} & set(row["citations"]))
    court = found.courts[:1] == ["ark"]
    date = found.decision_date == row["decision_date"]
    return {
        "own citation found (all)": own,
        "own citation found (1986)": own if modern else None,
        "court == ark (all)": court,
        "court == ark (1986)": court if modern else None,
        "no court invented (1860, printed)": None if modern or not printed else not found.courts,
        "jurisdiction == Arkansas (all)": found.jurisdiction == "Arkansas",
        "decision date exact (all)": date,
        "decision date exact (1986)": date if modern else None,
        "decision date right when given": date if found.decision_date else None,
        "docket number exact": (
            found.case_number == row["docket_number"] if row["docket_number"] else None
        ),
        "no docket invented": None if row["docket_number"] else found.case_number is None,
        "document_type == opinion": found.document_type == "opinion",
    }


def parties_scores(rows: list[dict[str, Any]], found: dict[str, LegalMetadata]) -> tuple[str, str]:
    extracted = correct = sides = recalled = 0
    for row in rows:
        parties = found[row["id"]].parties
        line = " ".join(row["parties"][0].split()).lower()
        extracted += len(parties)
        correct += sum(1 for party in parties if " ".join(party.split()).lower() in line)
        for side in row["name_abbreviation"].split(" v. "):
            sides += 1
            recalled += any(side_key(side) in party.lower() for party in parties)
    return pct(correct, extracted), pct(recalled, sides)


def opinions() -> None:
    rows = [json.loads(line) for line in (OPINIONS / "opinions.jsonl").read_text().splitlines()]
    texts = {row["id"]: (OPINIONS / row["file"]).read_text(encoding="utf-8") for row in rows}
    enrich(texts[rows[0]["id"]])  # load courts-db and eyecite's tables outside the timings

    results: dict[str, dict[str, LegalMetadata]] = {
        "stored": {row["id"]: enrich(texts[row["id"]]) for row in rows},
        "printed": {row["id"]: enrich(texts[row["id"]].split("\n\n", 1)[1]) for row in rows},
    }
    modern = sum(row["volume_barcode"] == VOLUME_1986 for row in rows)
    old = len(rows) - modern
    print(f"\n== Arkansas opinions: {len(rows)} cases ({modern} of 1986, {old} of 1860)")
    for mode, found in results.items():
        label = "file as stored" if mode == "stored" else "case as printed, header removed"
        print(f"\n-- {mode} ({label})")
        outcomes: dict[str, list[bool]] = {}
        for row in rows:
            for name, outcome in checks(row, found[row["id"]], mode == "printed").items():
                outcomes.setdefault(name, [])
                if outcome is not None:
                    outcomes[name].append(outcome)
        for name, values in outcomes.items():
            if values:
                print(f"{name:34} {pct(sum(values), len(values))}")
        precision, recall = parties_scores(rows, found)
        print(f"{'parties precision':34} {precision}  (party is text of the printed parties line)")
        print(f"{'parties recall':34} {recall}  (each side of CAP's short name is found)")

    citations = sum(len(found.citations) for found in results["stored"].values())
    kinds = Counter(c.kind for found in results["stored"].values() for c in found.citations)
    print(f"\ncitations (stored files): {citations}  {dict(kinds)}")
    throughput([texts[row["id"]] for row in rows])


def throughput(texts: list[str]) -> None:
    """enrich and eyecite.get_citations on each text, twice over, taking turns going first.

    CPU time (time.process_time) is the main figure: on a shared machine wall time also counts
    other processes. Taking turns keeps either tool from always running on a text the other
    has just warmed eyecite's regex cache with.
    """
    runs: dict[str, Callable[[str], object]] = {"eyecite": get_citations, "enrich": enrich}
    cpu: dict[str, list[float]] = {name: [0.0] * len(texts) for name in runs}
    wall: dict[str, float] = dict.fromkeys(runs, 0.0)
    for round_ in range(2):
        for index, text in enumerate(texts):
            order = list(runs) if (index + round_) % 2 else list(reversed(runs))
            for name in order:
                started_cpu, started_wall = time.process_time(), time.perf_counter()
                runs[name](text)
                cpu[name][index] += (time.process_time() - started_cpu) / 2
                wall[name] += (time.perf_counter() - started_wall) / 2
    chars = sum(map(len, texts))
    print("\n-- throughput (files as stored; eyecite.get_citations alone on the same texts)")
    print(f"documents {len(texts)}, {chars:,} chars, mean {chars // len(texts):,} chars")
    for name, per_doc in cpu.items():
        ms = sorted(1000 * t for t in per_doc)
        mean, median, p95 = statistics.mean(ms), statistics.median(ms), ms[int(0.95 * len(ms))]
        print(
            f"{name:8} CPU {chars / sum(per_doc):9,.0f} chars/s  ms/doc mean {mean:6.1f}"
            f"  median {median:6.1f}  p95 {p95:6.1f}  max {ms[-1]:7.1f}"
            f"   (wall {chars / wall[name]:,.0f} chars/s)"
        )
    print(f"enrich / eyecite CPU time  {sum(cpu['enrich']) / sum(cpu['eyecite']):.2f}x")


def contracts() -> None:
    paths = sorted((CUAD / "corpus" / "cuad").glob("*.txt"))
    kinds = Counter(document_type(path.read_text(encoding="utf-8")) for path in paths)
    print(f"\n== CUAD contracts: document_type over {len(paths)}: {dict(kinds)}")
    print(f"typed contract {pct(kinds['contract'], len(paths))}")
    small = [
        CUAD / "corpus" / name for name in json.loads((CUAD / "corpus-small.json").read_text())
    ]
    texts = [path.read_text(encoding="utf-8") for path in small]
    started = time.process_time()
    found = [enrich(text) for text in texts]
    elapsed = time.process_time() - started
    chars = sum(map(len, texts))
    largest = max(map(len, texts))
    print(
        f"enrich on the {len(texts)}-contract dev slice: {chars:,} chars (largest {largest:,}),"
        f" CPU {chars / elapsed:,.0f} chars/s, {1000 * elapsed / len(texts):.0f} ms/doc"
    )
    typed = sum(f.document_type == "contract" for f in found)
    print(
        f"typed contract {pct(typed, len(texts))}, with dates {sum(bool(f.dates) for f in found)}"
    )


def whole_text(run_eyecite: bool) -> None:
    """One multi-megabyte text: enrich reads it in pieces, eyecite alone all at once."""
    text = "\n\n".join(path.read_text(encoding="utf-8") for path in sorted(OPINIONS.glob("*.txt")))
    print(f"\n== one {len(text):,}-char document (all 288 opinions joined), CPU time")
    started = time.process_time()
    found = enrich(text)
    elapsed = time.process_time() - started
    rate = len(text) / elapsed
    print(f"enrich  {elapsed:6.1f} s  {rate:,.0f} chars/s  {len(found.citations)} citations")
    if run_eyecite:
        started = time.process_time()
        count = len(get_citations(text))
        elapsed = time.process_time() - started
        print(f"eyecite {elapsed:6.1f} s on the whole text at once  {count} citations")


def filings() -> None:
    try:
        import pypdfium2
    except ImportError:
        print("\n== court filings: pypdfium2 not installed, skipped")
        return
    print("\n== court filings (PDF text via pypdfium2; expected court from the file name)")
    expected_hits = expected_total = 0
    for path in sorted(FILINGS.rglob("*.pdf")):
        try:
            document = pypdfium2.PdfDocument(path)
            text = "\f".join(page.get_textpage().get_text_range() for page in document)
        except pypdfium2.PdfiumError:
            continue
        if len(text.strip()) < 200:
            continue  # image-only or stamp-only: nothing to enrich before OCR
        found = enrich(text)
        match = re.match(r"(ca\d+|cafc)_|gov\.uscourts\.(\w+)\.", path.name)
        expected = (match.group(1) or match.group(2)) if match else None
        if expected:
            expected_total += 1
            expected_hits += found.courts[:1] == [expected]
        courts, number, decided = ",".join(found.courts), found.case_number, found.decision_date
        print(
            f"{path.name[:34]:34} {courts or '-':8} {found.document_type:8} {number or '-':22}"
            f" {decided or '-':10} {len(found.citations):4} cites"
            f"  {'; '.join(found.parties)[:60]}"
        )
    print(f"court == the one in the file name: {pct(expected_hits, expected_total)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="opinions only")
    parser.add_argument(
        "--whole", action="store_true", help="also eyecite on one 2.2 MB text (slow)"
    )
    args = parser.parse_args()
    # eyecite logs a warning for each overlap of citations it cannot classify; not results.
    logging.getLogger("eyecite").setLevel(logging.ERROR)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs,"
        f" load {load:.2f}; one process; CPU time (time.process_time) unless marked wall"
    )
    opinions()
    if not args.quick:
        contracts()
        filings()
        whole_text(args.whole)


if __name__ == "__main__":
    main()
