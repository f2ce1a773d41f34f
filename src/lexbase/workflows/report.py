"""Reports of workflow outputs in Markdown, every quote a numbered citation to the offsets of
a document's `/text` (the citation keeps the exact quote, so anyone can check it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lexbase.workflows.definition import ReportStep

MAX_QUOTE = 300


@dataclass
class Report:
    title: str
    lines: list[str] = field(default_factory=list)
    citations: list[dict[str, Any]] = field(default_factory=list)

    def cite(self, document_id: str, source: dict[str, Any]) -> str:
        """The marker of a citation to `source` (`{quote, start, end, page}`)."""
        for n, known in enumerate(self.citations, 1):
            if (known["document_id"], known["start"], known["end"]) == (
                document_id,
                source["start"],
                source["end"],
            ):
                return f"[{n}]"
        self.citations.append({"document_id": document_id, **source})
        return f"[{len(self.citations)}]"

    def quoted(self, document_id: str, sources: list[dict[str, Any]]) -> str:
        return " ".join(self.cite(document_id, s) for s in sources)

    def render(self) -> dict[str, Any]:
        notes = ["", "## Sources", ""]
        for n, c in enumerate(self.citations, 1):
            quote = " ".join(c["quote"].split())
            if len(quote) > MAX_QUOTE:
                quote = quote[: MAX_QUOTE - 1] + "…"
            page = f", page {c['page']}" if c.get("page") else ""
            notes.append(
                f"[{n}]: /api/v1/documents/{c['document_id']}/text#{c['start']}-{c['end']} "
                f'- characters {c["start"]} to {c["end"]}{page}: "{quote}"'
            )
        markdown = "\n".join([f"# {self.title}", "", *self.lines, *notes]) + "\n"
        return {"title": self.title, "markdown": markdown, "citations": self.citations}


def build(step: ReportStep, sources: list[Any]) -> dict[str, Any]:
    report = Report(step.title)
    for section, output in zip(step.sections, sources, strict=True):
        report.lines += [f"## {section.heading}", ""]
        if section.show == "chronology":
            _chronology(report, _analyses(output))
        elif section.show == "risks":
            _risks(report, _analyses(output))
        elif section.show.startswith("clause:"):
            _clause(report, _analyses(output), section.show.removeprefix("clause:"))
        else:
            _auto(report, output)
        report.lines.append("")
    return report.render()


def _analyses(output: Any) -> list[dict[str, Any]]:
    """The analyses an output holds: itself, or each item's of a map."""
    if isinstance(output, dict) and "items" in output:
        return [o for item in output["items"] for o in item["outputs"].values() if "clauses" in o]
    return [output] if isinstance(output, dict) and "clauses" in output else []


def _auto(report: Report, output: Any) -> None:
    if isinstance(output, dict) and "items" in output:
        for item in output["items"]:
            for sub in item["outputs"].values():
                report.lines += [f"### Document {item['item']}", ""]
                _auto(report, sub)
    elif isinstance(output, dict) and "clauses" in output:
        _analysis(report, output)
    elif isinstance(output, dict) and "key_points" in output:
        for point in output["key_points"]:
            cited = report.quoted(output["document_id"], point["sources"])
            report.lines.append(f"- {point['text']} {cited}")
    elif isinstance(output, dict) and "questions" in output:
        for n, q in enumerate(output["questions"], 1):
            cited = report.quoted(output["document_id"], q["sources"])
            report.lines += [f"{n}. **{q['question']}**", f"   {q['answer']} {cited}"]
    elif isinstance(output, dict) and "sentences" in output and "citations" in output:
        _generated(report, output)
    elif isinstance(output, dict) and "results" in output:
        for result in output["results"]:
            report.lines.append(f"- {result['title']} (page {result['page']}): {result['text']}")
    else:
        report.lines.append("Nothing to report.")


def _generated(report: Report, output: dict[str, Any]) -> None:
    """A model's text, each sentence with the citations the verification kept; one nothing
    supports is marked so."""
    by_marker: dict[int, list[dict[str, Any]]] = {}
    for citation in output["citations"]:
        by_marker.setdefault(citation["marker"], []).append(citation)
    for sentence in output["sentences"]:
        cited = " ".join(
            report.cite(c["document_id"], c) for m in sentence["markers"] for c in by_marker[m]
        )
        flag = "" if sentence["status"] == "supported" else " *(not supported by the sources)*"
        report.lines.append(f"- {sentence['text']} {cited}{flag}".rstrip())


def _analysis(report: Report, analysis: dict[str, Any]) -> None:
    document_id = analysis["document_id"]
    for party in analysis["parties"]:
        role = f" ({party['role']})" if party.get("role") else ""
        cited = report.quoted(document_id, party["sources"])
        report.lines.append(f"- Party: {party['name']}{role} {cited}")
    for name, found in analysis["fields"].items():
        if found["value"] is None:
            continue
        value = found["value"] if isinstance(found["value"], str) else ", ".join(found["value"])
        label = name.replace("_", " ").capitalize()
        report.lines.append(f"- {label}: {value} {report.quoted(document_id, found['sources'])}")
    for date in analysis["key_dates"]:
        cited = report.quoted(document_id, date["sources"])
        report.lines.append(f"- {date['kind'].capitalize()} date: {date['date']} {cited}")
    present = [c for c in analysis["clauses"] if c["present"]]
    for clause in present:
        cited = report.quoted(document_id, clause["sources"][:1])
        report.lines.append(f"- {clause['category']} ({clause['confidence']:.2f}) {cited}")


def _risks(report: Report, analyses: list[dict[str, Any]]) -> None:
    found = False
    for analysis in analyses:
        for risk in analysis["risks"]:
            found = True
            cited = report.quoted(analysis["document_id"], risk["sources"])
            report.lines.append(
                f"- **{risk['severity']}** — {risk['text']} (document {analysis['document_id']}) "
                f"{cited}"
            )
    if not found:
        report.lines.append("No risks found.")


def _chronology(report: Report, analyses: list[dict[str, Any]]) -> None:
    events = sorted(
        (
            (date["date"], analysis["document_id"], date)
            for analysis in analyses
            for date in analysis["key_dates"]
        ),
        key=lambda event: (event[0], event[1]),
    )
    for day, document_id, date in events:
        report.lines.append(
            f"- {day} — {date['kind']} (document {document_id}) "
            f"{report.quoted(document_id, date['sources'])}"
        )
    if not events:
        report.lines.append("No dated events found.")


def _clause(report: Report, analyses: list[dict[str, Any]], category: str) -> None:
    for analysis in analyses:
        document_id = analysis["document_id"]
        [clause] = [c for c in analysis["clauses"] if c["category"] == category] or [None]
        if clause is None or not clause["present"]:
            report.lines.append(f"- Document {document_id}: not found")
        else:
            cited = report.quoted(document_id, clause["sources"][:1])
            report.lines.append(f"- Document {document_id}: present {cited}")
