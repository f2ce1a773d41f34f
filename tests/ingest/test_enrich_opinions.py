"""enrich() on the 288 Arkansas Reports cases, scored against CAP's ground truth.

Each fixture file starts with a 4-line header the fixture builder wrote from CAP's metadata
(name, citations, court, ISO date); the case as printed follows. Scores are taken on the file as
stored and on the printed case alone, so no figure leans on that header. The 1860 volume prints
no court, citation or decision date in the case itself (CAP has only year and month for it), so
those fields are scored on the 1986 volume, and the 1860 volume is checked for inventions.

Thresholds are the measured figures rounded down a little: a drop below them is a regression.
See benchmarks/enrichment_eval.py for the same figures printed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from lexbase.ingest.enrich import document_type, enrich
from lexbase.ingest.types import LegalMetadata

SHARED = Path(__file__).resolve().parents[3] / "shared"
OPINIONS = SHARED / "fixtures" / "opinions"
CUAD = SHARED / "eval" / "legalbench-cuad" / "corpus" / "cuad"
VOLUME_1986 = "32044078577194"


@dataclass(frozen=True)
class Case:
    truth: dict[str, Any]
    stored: LegalMetadata  # enrich() of the file as stored, header included
    printed: LegalMetadata  # enrich() of the case as printed, header left out

    @property
    def modern(self) -> bool:
        return bool(self.truth["volume_barcode"] == VOLUME_1986)


@pytest.fixture(scope="module")
def cases() -> list[Case]:
    assert OPINIONS.is_dir(), f"the shared opinion fixtures are missing at {OPINIONS}"
    found = []
    for line in (OPINIONS / "opinions.jsonl").read_text(encoding="utf-8").splitlines():
        truth = json.loads(line)
        text = (OPINIONS / truth["file"]).read_text(encoding="utf-8")
        printed = text.split("\n\n", 1)[1]
        found.append(Case(truth, enrich(text), enrich(printed)))
    assert len(found) == 288
    return found


def rate(cases: list[Case], hit: Callable[[Case], bool]) -> float:
    assert cases
    return sum(1 for case in cases if hit(case)) / len(cases)


def own_citation(metadata: LegalMetadata, truth: dict[str, Any]) -> bool:
    return bool({c.normalized for c in metadata.citations} & set(truth["citations"]))


def test_every_citation_offset_indexes_the_text(cases: list[Case]) -> None:
    for case in cases:
        text = (OPINIONS / case.truth["file"]).read_text(encoding="utf-8")
        for citation in case.stored.citations:
            assert text[citation.start : citation.end] == citation.text
    assert sum(len(case.stored.citations) for case in cases) > 3000


def test_own_citation_is_found(cases: list[Case]) -> None:
    # Measured: 100% as stored; 100% of the 1986 cases as printed (one parallel cite printed).
    assert rate(cases, lambda c: own_citation(c.stored, c.truth)) >= 0.98
    modern = [case for case in cases if case.modern]
    assert rate(modern, lambda c: own_citation(c.printed, c.truth)) >= 0.98


def test_court_and_jurisdiction(cases: list[Case]) -> None:
    # Measured: 100% as stored; 100% of the 1986 cases as printed; no court invented for 1860.
    assert rate(cases, lambda c: c.stored.courts[:1] == ["ark"]) >= 0.98
    assert rate(cases, lambda c: c.stored.jurisdiction == "Arkansas") >= 0.98
    modern = [case for case in cases if case.modern]
    assert rate(modern, lambda c: c.printed.courts[:1] == ["ark"]) >= 0.98
    old = [case for case in cases if not case.modern]
    assert rate(old, lambda c: c.printed.courts == []) >= 0.98


def test_decision_date(cases: list[Case]) -> None:
    # Measured: 100% of the 152 dates printed ("Opinion delivered ..."), 52.8% of all 288 cases
    # (the 136 cases of 1860 carry only "1860-01"-style truth and print no date), and no date
    # that disagrees with the truth.
    modern = [case for case in cases if case.modern]
    assert rate(modern, lambda c: c.printed.decision_date == c.truth["decision_date"]) >= 0.98
    assert rate(cases, lambda c: c.stored.decision_date == c.truth["decision_date"]) >= 0.52
    dated = [case for case in cases if case.stored.decision_date is not None]
    assert rate(dated, lambda c: c.stored.decision_date == c.truth["decision_date"]) >= 0.99


def test_docket_number(cases: list[Case]) -> None:
    # Measured: 143/143 exact where CAP has one; none invented for the 145 without.
    numbered = [case for case in cases if case.truth["docket_number"]]
    assert rate(numbered, lambda c: c.printed.case_number == c.truth["docket_number"]) >= 0.97
    unnumbered = [case for case in cases if not case.truth["docket_number"]]
    assert rate(unnumbered, lambda c: c.printed.case_number is None) >= 0.97


def test_document_type(cases: list[Case]) -> None:
    # Measured: 288/288 both ways.
    assert rate(cases, lambda c: c.printed.document_type == "opinion") >= 0.99


def _key(side: str) -> str:
    """The distinctive first word of one side of CAP's abbreviated name ("State ex rel. X")."""
    words = re.sub(
        r"^(?:(?:the|state|estate|city|in|re|of|ex|rel\.|adoption|guardianship)\s+)+",
        "",
        side.lower(),
    ).split()
    return words[0].strip(",.") if words else side.lower()


def test_parties(cases: list[Case]) -> None:
    # Precision: an extracted party is text of CAP's printed parties line. Recall: each side
    # of CAP's abbreviated name has its first word in some extracted party.
    # Measured: precision 99.3% (printed) / 99.5% (stored), recall 100%.
    extracted = correct = sides = recalled = 0
    for case in cases:
        printed_line = " ".join(case.truth["parties"][0].split()).lower()
        extracted += len(case.printed.parties)
        correct += sum(
            1 for p in case.printed.parties if " ".join(p.split()).lower() in printed_line
        )
        for side in case.truth["name_abbreviation"].split(" v. "):
            sides += 1
            recalled += any(_key(side) in party.lower() for party in case.printed.parties)
    assert correct / extracted >= 0.98
    assert recalled / sides >= 0.98


def test_real_contracts_are_contracts() -> None:
    # 439 CUAD contracts (SEC exhibits, letters of agreement, Chinese-style "Party A" contracts).
    # Measured: 431/439 (98.2%); the rest are "other" but one (section-numbered) agency
    # agreement. Uses the same excerpt enrich() classifies.
    assert CUAD.is_dir(), f"the shared CUAD corpus is missing at {CUAD}"
    kinds = [document_type(path.read_text(encoding="utf-8")) for path in sorted(CUAD.glob("*.txt"))]
    assert len(kinds) == 439
    assert kinds.count("contract") / len(kinds) >= 0.97
    assert kinds.count("opinion") + kinds.count("motion") + kinds.count("brief") == 0
