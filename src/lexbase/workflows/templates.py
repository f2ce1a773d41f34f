"""The built-in templates, each useful on its own. Their ids start with `builtin:`; an
organization's own templates are stored (`WorkflowTemplate`) and listed beside them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lexbase.workflows.definition import Definition

BUILTIN_PREFIX = "builtin:"


@dataclass(frozen=True)
class Builtin:
    id: str
    name: str
    description: str
    category: str
    definition: Definition


def _builtin(id_: str, name: str, description: str, category: str, **definition: Any) -> Builtin:
    return Builtin(
        BUILTIN_PREFIX + id_, name, description, category, Definition.model_validate(definition)
    )


def _documents_or_matter(description: str) -> dict[str, Any]:
    """`document_ids`, or — when left out — the indexed documents of `matter_id`."""
    return {
        "document_ids": {
            "type": "documents",
            "required": False,
            "description": description,
            "from_matter": "matter_id",
        },
        "matter_id": {"type": "matter", "required": False},
    }


def _each(over: str, name: str, analysis_type: str) -> dict[str, Any]:
    """A map step analysing each document of `over` (its outputs under `analysis`)."""
    analysis = {"name": "analysis", "type": "analyze", "document": "$item"}
    return {
        "name": name,
        "type": "map",
        "over": over,
        "steps": [analysis | {"analysis_type": analysis_type}],
    }


BUILTINS: tuple[Builtin, ...] = (
    _builtin(
        "case-brief",
        "Case brief",
        "Court, parties, dates, posture, holding and disposition of one opinion, with its "
        "central passages; each line quoting the opinion.",
        "litigation",
        inputs={"document_id": {"type": "document", "description": "the opinion"}},
        steps=[
            {
                "name": "analysis",
                "type": "analyze",
                "document": "$input.document_id",
                "analysis_type": "case",
            },
            {
                "name": "summary",
                "type": "summarize",
                "document": "$input.document_id",
                "length": "medium",
            },
            {
                "name": "report",
                "type": "report",
                "title": "Case brief",
                "sections": [
                    {"heading": "The case", "source": "$steps.analysis"},
                    {"heading": "Central passages", "source": "$steps.summary"},
                ],
            },
        ],
    ),
    _builtin(
        "contract-review",
        "Contract review",
        "The CUAD clause grid and the risks of each contract, for a reviewer's approval, "
        "then a memo quoting each finding.",
        "transactional",
        inputs=_documents_or_matter("the contracts"),
        steps=[
            _each("$input.document_ids", "contracts", "contract"),
            {
                "name": "approval",
                "type": "review",
                "role": "attorney",
                "instructions": "Check the clauses found before the memo is written.",
            },
            {
                "name": "memo",
                "type": "report",
                "title": "Contract review",
                "sections": [
                    {"heading": "Risks", "source": "$steps.contracts", "show": "risks"},
                    {"heading": "Clauses", "source": "$steps.contracts"},
                ],
            },
        ],
    ),
    _builtin(
        "chronology",
        "Litigation chronology",
        "The dated events across a matter's filings, in order, each with its source.",
        "litigation",
        inputs=_documents_or_matter("the filings"),
        steps=[
            _each("$input.document_ids", "filings", "general"),
            {
                "name": "report",
                "type": "report",
                "title": "Chronology",
                "sections": [
                    {"heading": "Events", "source": "$steps.filings", "show": "chronology"},
                ],
            },
        ],
    ),
    _builtin(
        "deposition-prep",
        "Deposition preparation",
        "Questions with answers quoted from a document, for a witness's examination.",
        "litigation",
        inputs={"document_id": {"type": "document", "description": "the witness's document"}},
        steps=[
            {
                "name": "questions",
                "type": "questions",
                "document": "$input.document_id",
                "count": 15,
            },
            {
                "name": "report",
                "type": "report",
                "title": "Deposition outline",
                "sections": [
                    {"heading": "Questions", "source": "$steps.questions"},
                ],
            },
        ],
    ),
    _builtin(
        "clause-comparison",
        "Clause comparison",
        "One clause category across many contracts: where each states it, side by side.",
        "transactional",
        inputs=_documents_or_matter("the documents"),
        steps=[
            _each("$input.document_ids", "contracts", "contract"),
            {
                "name": "report",
                "type": "report",
                "title": "Governing law compared",
                "sections": [
                    {
                        "heading": "Governing law",
                        "source": "$steps.contracts",
                        "show": "clause:Governing Law",
                    },
                ],
            },
        ],
    ),
)

BY_ID = {b.id: b for b in BUILTINS}
