"""What a workflow template is: named inputs and typed steps, validated before anything runs.

Values are wired by reference: a string `"$input.<name>"` is the execution's input,
`"$steps.<step>"` (optionally `.<key>` deeper) an earlier step's output, `"$item"` the
element a `map` step is working on. A reference to an input not declared, or to a step that
does not come earlier, is refused when the template is saved (422 naming the step and field).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

NAME = r"^[a-z][a-z0-9_]{0,49}$"
REF = re.compile(r"^\$(input|steps|item)(?:\.([A-Za-z0-9_]+))?((?:\.[A-Za-z0-9_]+)*)$")
MAX_STEPS = 40


class _Step(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME)


class SearchStep(_Step):
    """Hybrid search within the execution's scope; output `{results: [...]}`."""

    type: Literal["search"]
    query: str = Field(min_length=1, max_length=500)
    documents: str | None = None  # a reference to document ids to search within
    limit: int = Field(default=10, ge=1, le=50)


class AnalyzeStep(_Step):
    """Document intelligence's analysis of one document (`GET .../analysis`'s shape)."""

    type: Literal["analyze"]
    document: str
    analysis_type: Literal["contract", "case", "general"] | None = None


class SummarizeStep(_Step):
    type: Literal["summarize"]
    document: str
    length: Literal["short", "medium", "long"] = "medium"
    method: Literal["extractive", "abstractive"] = "extractive"


class QuestionsStep(_Step):
    type: Literal["questions"]
    document: str
    count: int = Field(default=10, ge=1, le=50)
    difficulty: Literal["easy", "medium", "hard"] | None = None


class GenerateStep(_Step):
    """A language model writes to `instruction` from the quotes of earlier outputs, numbered
    as sources; every sentence is then checked against them (chat's verification) and
    cited, or marked unsupported."""

    type: Literal["generate"]
    instruction: str = Field(min_length=1, max_length=2000)
    sources: list[str] = Field(min_length=1, max_length=10)  # references to earlier outputs
    max_tokens: int = Field(default=400, ge=32, le=4000)


class Condition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: str  # a reference
    op: Literal["exists", "empty", "equals", "not_equals", "greater_than", "less_than"]
    operand: Any = None


class ConditionStep(_Step):
    """When `when` does not hold, the later steps named in `otherwise_skip` are skipped."""

    type: Literal["condition"]
    when: Condition
    otherwise_skip: list[str] = Field(default_factory=list)


class ReviewStep(_Step):
    """Pauses the execution until a user whose role is at least `role` approves or rejects."""

    type: Literal["review"]
    role: Literal["admin", "attorney", "paralegal"] = "attorney"
    instructions: str = Field(default="", max_length=2000)


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")

    heading: str = Field(min_length=1, max_length=200)
    source: str  # a reference to a step's output
    show: Literal["auto", "chronology", "risks"] | str = "auto"  # or "clause:<CUAD category>"


class ReportStep(_Step):
    """A Markdown report of earlier outputs; every quote a citation to document offsets."""

    type: Literal["report"]
    title: str = Field(min_length=1, max_length=200)
    sections: list[Section] = Field(min_length=1, max_length=30)


LeafStep = Annotated[
    SearchStep | AnalyzeStep | SummarizeStep | QuestionsStep, Field(discriminator="type")
]


class MapStep(_Step):
    """The sub-steps for each element of `over` (a list of document ids), `concurrency`
    elements at a time; output `{items: [{item, outputs: {step: output}}]}` in the list's
    order."""

    type: Literal["map"]
    over: str
    steps: list[LeafStep] = Field(min_length=1, max_length=10)
    concurrency: int = Field(default=2, ge=1, le=8)


Step = Annotated[
    SearchStep
    | AnalyzeStep
    | SummarizeStep
    | QuestionsStep
    | GenerateStep
    | ConditionStep
    | ReviewStep
    | ReportStep
    | MapStep,
    Field(discriminator="type"),
]

InputType = Literal["document", "documents", "matter", "string", "integer"]


class InputSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: InputType
    required: bool = True
    description: str = ""
    # A `documents` input left out is filled with the indexed documents of the matter given
    # as this (`matter`) input: "review the contracts of this matter".
    from_matter: str | None = None


class Definition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    inputs: dict[str, InputSpec] = Field(default_factory=dict)
    steps: list[Step] = Field(min_length=1, max_length=MAX_STEPS)

    @model_validator(mode="after")
    def _wired(self) -> Definition:
        for name, spec in self.inputs.items():
            source = self.inputs.get(spec.from_matter or "")
            if spec.from_matter is not None and (
                spec.type != "documents" or source is None or source.type != "matter"
            ):
                raise ValueError(
                    f"inputs.{name}.from_matter: a documents input filled from a matter input"
                )
        seen: list[str] = []
        for index, step in enumerate(self.steps):
            if step.name in seen:
                raise ValueError(f"steps.{index}.name: '{step.name}' is used twice")
            for field, value in _references(step):
                problem = _check(value, self.inputs, seen, in_map=field.startswith("steps."))
                if problem:
                    raise ValueError(f"steps.{index} ({step.name}).{field}: {problem}")
            if isinstance(step, ConditionStep):
                later = {s.name for s in self.steps[index + 1 :]}
                unknown = [n for n in step.otherwise_skip if n not in later]
                if unknown:
                    raise ValueError(
                        f"steps.{index} ({step.name}).otherwise_skip: "
                        f"not a later step: {', '.join(unknown)}"
                    )
            seen.append(step.name)
        return self


def _references(step: BaseModel) -> list[tuple[str, str]]:
    """(field path, reference) of every reference the step holds."""
    found: list[tuple[str, str]] = []
    for name in ("query", "documents", "document", "over"):
        value = getattr(step, name, None)
        if isinstance(value, str) and (name != "query" or value.startswith("$")):
            found.append((name, value))
    if isinstance(step, ConditionStep):
        found.append(("when.value", step.when.value))
    if isinstance(step, ReportStep):
        found += [(f"sections.{i}.source", s.source) for i, s in enumerate(step.sections)]
    if isinstance(step, GenerateStep):
        found += [(f"sources.{i}", s) for i, s in enumerate(step.sources)]
    if isinstance(step, MapStep):
        for i, sub in enumerate(step.steps):
            found += [(f"steps.{i}.{f}", v) for f, v in _references(sub)]
    return found


def _check(value: str, inputs: dict[str, InputSpec], earlier: list[str], *, in_map: bool) -> str:
    match = REF.match(value)
    if match is None:
        return f"'{value}' is not a reference ($input.<name>, $steps.<name>, $item)"
    root, name = match.group(1), match.group(2)
    if root == "item":
        return "" if in_map and name is None else "$item is only known inside a map step"
    if name is None:
        return f"'{value}' names no {root[:-1]}"
    if root == "input" and name not in inputs:
        return f"no input named '{name}'"
    if root == "steps" and name not in earlier:
        return f"no earlier step named '{name}'"
    return ""


def definition_schema() -> dict[str, Any]:
    return Definition.model_json_schema()
