"""Running one step: references resolved, then the domain service the step names, called
as the requester stands now (their role, their walls) — the same calls the HTTP API makes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from lexbase.core.principal import Principal
from lexbase.core.resources import Resources
from lexbase.intelligence.deps import IntelligenceState
from lexbase.intelligence.schemas import AnalysisRequest, QuestionsRequest, SummaryRequest
from lexbase.intelligence.service import AnalysisService, Run
from lexbase.search.deps import SearchState
from lexbase.search.schemas import SearchFilters, SearchRequest
from lexbase.search.service import SearchService
from lexbase.workflows import report
from lexbase.workflows.definition import (
    REF,
    AnalyzeStep,
    ConditionStep,
    MapStep,
    QuestionsStep,
    ReportStep,
    SearchStep,
    SummarizeStep,
)

Progress = Callable[[str, float], Awaitable[None]]


class StepRefused(Exception):
    """A step that cannot succeed as things stand (a document gone or walled off, an input
    of the wrong kind): the execution fails with this message, no retry."""


@dataclass
class Scope:
    principal: Principal
    resources: Resources
    intelligence: IntelligenceState
    search: SearchState
    input: dict[str, Any]
    outputs: dict[str, Any] = field(default_factory=dict)
    progress: Progress | None = None

    def resolve(self, value: str, item: Any = None) -> Any:
        match = REF.match(value)
        if match is None:
            return value
        root, name, rest = match.group(1), match.group(2), match.group(3)
        found: Any = item if root == "item" else (self.input if root == "input" else self.outputs)
        for key in [name, *rest.split(".")[1:]] if name else []:
            if not isinstance(found, dict) or key not in found:
                raise StepRefused(f"{value} has no value")
            found = found[key]
        return found

    def document(self, value: str, item: Any = None) -> str:
        found = self.resolve(value, item)
        if not isinstance(found, str):
            raise StepRefused(f"{value} is not a document id")
        return found

    @property
    def run(self) -> Run:
        async def quiet(stage: str, fraction: float) -> None:
            return None

        return Run.job(self.progress or quiet)


LeafStep = SearchStep | AnalyzeStep | SummarizeStep | QuestionsStep


async def run_leaf(step: LeafStep, scope: Scope, item: Any = None) -> dict[str, Any]:
    analyses = AnalysisService(scope.resources, scope.intelligence)
    if isinstance(step, AnalyzeStep):
        made: Any = await analyses.analyze(
            scope.principal,
            scope.document(step.document, item),
            AnalysisRequest(analysis_type=step.analysis_type),
            scope.run,
        )
    elif isinstance(step, SummarizeStep):
        made = await analyses.summarize(
            scope.principal,
            scope.document(step.document, item),
            SummaryRequest(length=step.length, method=step.method),
            scope.run,
        )
    elif isinstance(step, QuestionsStep):
        made = await analyses.questions(
            scope.principal,
            scope.document(step.document, item),
            QuestionsRequest(count=step.count, difficulty=step.difficulty),
            scope.run,
        )
    else:
        made = await _search(step, scope, item)
    dumped: dict[str, Any] = made.model_dump(mode="json")
    return dumped


async def _search(step: SearchStep, scope: Scope, item: Any) -> Any:
    query = scope.resolve(step.query, item)
    if not isinstance(query, str) or not query.strip():
        raise StepRefused(f"{step.query} is not a query")
    filters = SearchFilters()
    if step.documents is not None:
        ids = scope.resolve(step.documents, item)
        filters = SearchFilters(document_ids=ids if isinstance(ids, list) else [ids])
    service = SearchService(scope.resources.statement_reads, scope.resources.settings, scope.search)
    return await service.search(
        scope.principal, SearchRequest(query=query, filters=filters, limit=step.limit)
    )


async def run_map(step: MapStep, scope: Scope) -> dict[str, Any]:
    over = scope.resolve(step.over)
    if not isinstance(over, list):
        raise StepRefused(f"{step.over} is not a list")
    bound = asyncio.Semaphore(step.concurrency)
    done = 0

    async def each(element: Any) -> dict[str, Any]:
        nonlocal done
        async with bound:
            outputs = {sub.name: await run_leaf(sub, scope, element) for sub in step.steps}
        done += 1
        if scope.progress is not None:
            await scope.progress(step.name, done / len(over))
        return {"item": element, "outputs": outputs}

    tasks = [asyncio.create_task(each(element)) for element in over]
    try:
        return {"items": list(await asyncio.gather(*tasks))}
    except BaseException:  # one failed (or the job is stopping): the others stop too
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


def holds(step: ConditionStep, scope: Scope) -> bool:
    condition = step.when
    try:
        value = scope.resolve(condition.value)
    except StepRefused:
        value = None
    operand = condition.operand
    if condition.op == "exists":
        return value is not None
    if condition.op == "empty":
        return not value
    if condition.op == "equals":
        return bool(value == operand)
    if condition.op == "not_equals":
        return bool(value != operand)
    if not isinstance(value, int | float) or not isinstance(operand, int | float):
        return False
    return value > operand if condition.op == "greater_than" else value < operand


def run_report(step: ReportStep, scope: Scope) -> dict[str, Any]:
    return report.build(step, [scope.resolve(section.source) for section in step.sections])
