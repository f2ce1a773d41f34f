"""Case analysis (`POST /documents/{id}/analysis`, type `case`) against the Arkansas
opinions' ground truth: per field, how often the value is right and located in the text;
judges against the opinions' labelled authors; and how often the rules read the posture and
the holding themselves (the rest is asked of a language model).

    .venv/bin/python benchmarks/case_analysis_eval.py

Data: /work/shared/fixtures/opinions (288 cases, CAP metadata checked by people). Each case
is analysed as printed — the fixture's four header lines (written from the ground truth)
removed — through the same pure functions the API runs: the ingest enrichment, then
`intelligence.findings.analyze_case`. "Located" means the value carries a source span in the
text (its quote is `text[start:end]` by construction).
"""

from __future__ import annotations

import json
import time
from typing import Any

from enrichment_eval import OPINIONS, VOLUME_1986, pct, side_key

from lexbase.ingest.enrich import enrich
from lexbase.intelligence.findings import analyze_case


def metadata_of(text: str) -> tuple[dict[str, Any], list[Any]]:
    """The metadata as ingestion stores it, and the citations."""
    found = enrich(text)
    return (
        {
            "courts": found.courts,
            "court_names": found.court_names,
            "jurisdiction": found.jurisdiction,
            "parties": found.parties,
            "case_number": found.case_number,
            "dates": {"decision": found.decision_date, "filing": found.filing_date},
        },
        found.citations,
    )


def main() -> None:
    rows = [json.loads(line) for line in (OPINIONS / "opinions.jsonl").read_text().splitlines()]
    outcomes: dict[str, list[bool]] = {}

    def note(name: str, outcome: bool | None) -> None:
        if outcome is not None:
            outcomes.setdefault(name, []).append(outcome)

    started = time.perf_counter()
    for row in rows:
        text = (OPINIONS / row["file"]).read_text(encoding="utf-8").split("\n\n", 1)[1]
        metadata, citations = metadata_of(text)
        analysis = analyze_case(text, metadata, citations)
        fields = analysis.fields
        modern = row["volume_barcode"] == VOLUME_1986
        court = fields["court"]
        court_id = court.value["id"] if court.value else None
        note("court right (1986)", court_id == "ark" if modern else None)
        note(
            "court right and located (1986)",
            court_id == "ark" and bool(court.sources) if modern else None,
        )
        note("no court invented (1860)", None if modern else court.value is None)
        date = fields["decision_date"]
        note("decision date right (1986)", date.value == row["decision_date"] if modern else None)
        note(
            "decision date right and located (1986)",
            date.value == row["decision_date"] and bool(date.sources) if modern else None,
        )
        docket = fields["docket_number"]
        if row["docket_number"]:
            note("docket right", docket.value == row["docket_number"])
            note(
                "docket right and located",
                docket.value == row["docket_number"] and bool(docket.sources),
            )
        else:
            note("no docket invented", docket.value is None)
        line = " ".join(row["parties"][0].split()).lower()
        for party in analysis.parties:
            note("party is text of the parties line", " ".join(party.name.split()).lower() in line)
            note("party located", bool(party.sources))
        for side in row["name_abbreviation"].split(" v. "):
            note("each side found", any(side_key(side) in p.name.lower() for p in analysis.parties))
        judges = [_name(j) for j in fields["judges"].value or []]
        for opinion in row["opinions"] or []:
            if opinion.get("author"):
                note("opinion author found (recall)", _name(opinion["author"]) in judges)
        authors = {_name(o["author"]) for o in row["opinions"] or [] if o.get("author")}
        for judge in judges:
            note("judge named is an author (precision)", judge in authors)
        note("posture read by the rules", fields["procedural_posture"].value is not None)
        note("holding read by the rules", fields["holding"].value is not None)
        authorities = fields["cited_authorities"]
        note("cited authorities located", len(authorities.sources) == len(authorities.value))
    seconds = time.perf_counter() - started
    print(f"{len(rows)} Arkansas opinions, as printed (header removed)")
    for name, values in outcomes.items():
        print(f"{name:40} {pct(sum(values), len(values))}")
    print(f"time per case (enrichment + analysis) {1000 * seconds / len(rows):.0f} ms")


def _name(author: str) -> str:
    """An author as a comparable key: letters only, titles dropped ("Mr. Chief Justice
    English" and "English" alike)."""
    key = author.lower()
    for title in ("mr.", "hon.", "special", "chief", "justice", "judge", "jr."):
        key = key.replace(title, "")
    return "".join(ch for ch in key if ch.isalpha())


if __name__ == "__main__":
    main()
