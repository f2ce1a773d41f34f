"""Document analyses: the document's own checks (tenant, walls, status), the pure analyses
of `findings`, their sources located with pages, and the store that answers repeats.

Reads and the write are short transactions of their own; no database lock is held while a
document is analysed.

Long work runs as a job (`intelligence/tasks.py`): a request needing more model calls than
`analysis_inline_model_calls`, or about a document longer than `analysis_inline_max_pages`
pages, is recorded as an `analyze_document` job and answered `Queued` (202). The job runs the
same method here with `Run.job(...)`, as the caller stands when it runs.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import structlog

from lexbase.analytics.service import ModelCall, record_model_call
from lexbase.core.db import transaction
from lexbase.core.pagination import PageParams
from lexbase.core.principal import Principal
from lexbase.core.resources import Resources
from lexbase.documents.models import Document
from lexbase.documents.service import DocumentService
from lexbase.intelligence.abstractive import PROMPT_VERSION as ABSTRACT_PROMPT_VERSION
from lexbase.intelligence.abstractive import (
    Abstract,
    TooLong,
    planned_calls,
    summarize_abstractive,
)
from lexbase.intelligence.deps import IntelligenceState
from lexbase.intelligence.errors import (
    AnalysisNotFound,
    DocumentFailed,
    EmptyText,
    MethodUnavailable,
    ModelFailed,
    NotReady,
    TooLongToSummarize,
    UnknownScope,
)
from lexbase.intelligence.extraction import (
    PROMPT_VERSION,
    Extraction,
    extract,
    write_questions,
)
from lexbase.intelligence.findings import (
    Analysis,
    analyze_case,
    analyze_contract,
    analyze_general,
)
from lexbase.intelligence.models import DocumentAnalysis
from lexbase.intelligence.questions import questions_from
from lexbase.intelligence.repository import AnalysisRepository
from lexbase.intelligence.results import MODEL_NAME, Loaded, analysis_out, render, summary_out
from lexbase.intelligence.schemas import (
    MAX_GRID_DOCUMENTS,
    AnalysisOut,
    AnalysisRequest,
    AnalysisType,
    ClauseOut,
    ContractGridOut,
    ContractGridRequest,
    GridRowOut,
    JobAccepted,
    QuestionOut,
    QuestionsOut,
    QuestionsRequest,
    SummaryOut,
    SummaryRequest,
)
from lexbase.intelligence.summary import LENGTHS, summarize
from lexbase.jobs.models import DOCUMENT_SUBJECT
from lexbase.jobs.service import Subject, enqueue
from lexbase.matters.errors import MatterNotFound
from lexbase.matters.service import get_matter
from lexbase.organizations.service import privacy_of
from lexbase.providers.llm import LLMChain, LLMError, Privacy

log = structlog.get_logger(__name__)

ANALYSIS_KINDS = ("contract", "case", "general")
SUMMARY_MODEL = "lexrank (networkx PageRank over TF-IDF sentence similarity)"
RULES_VERSION = "3"  # bumped whenever the rules' output changes: earlier results are not reused
CASE_TYPES = frozenset({"opinion", "brief", "motion"})
ANALYSIS_JOB = "analyze_document"

Progress = Callable[[str, float], Awaitable[None]]


@dataclass(frozen=True)
class Run:
    """How a request runs: from HTTP, where long work may be queued as a job; or as that
    job, inline whatever its length, reporting progress."""

    may_queue: bool = True
    progress: Progress | None = None
    # Model calls beyond which the work is queued (None: the setting). The clause grid
    # queues every analysis that asks a model: inline, its calls would add up per document.
    inline_calls: int | None = None

    @classmethod
    def job(cls, progress: Progress) -> Run:
        return cls(may_queue=False, progress=progress)

    async def report(self, stage: str, fraction: float) -> None:
        if self.progress is not None:
            await self.progress(stage, fraction)

    def calls_made(self, stage: str, planned: int) -> Callable[[int], Awaitable[None]] | None:
        """Progress after each model call of `planned`, from 0.1 to 0.9."""
        if self.progress is None:
            return None

        async def made(calls: int) -> None:
            await self.report(stage, 0.1 + 0.8 * min(calls / max(planned, 1), 1.0))

        return made


INLINE = Run()


def default_type(document_type: str | None) -> AnalysisType:
    if document_type == "contract":
        return "contract"
    return "case" if document_type in CASE_TYPES else "general"


class AnalysisService:
    def __init__(self, resources: Resources, state: IntelligenceState) -> None:
        self.resources = resources
        self.state = state

    async def analyze(
        self,
        principal: Principal,
        document_id: str,
        request: AnalysisRequest,
        run: Run = INLINE,
        *,
        queue_as: tuple[str, dict[str, Any]] | None = None,
    ) -> AnalysisOut | JobAccepted:
        """The analysis, made or stored — or, when it is long work and `run` may queue it,
        the job that will make it (`queue_as`: the operation the job runs instead, when the
        analysis is part of it)."""
        model = await self.state.clause_model()

        def kind_of(document: Document) -> str:
            return request.analysis_type or default_type(document.document_type)

        options = {"clauses": model.meta, "fields": self._fields_by()}
        loaded = await self._load(principal, document_id, kind_of, options)
        if loaded.cached is not None:
            return analysis_out(loaded.cached, cached=True)
        operation, body = queue_as or ("analysis", request.model_dump())
        if run.may_queue and self._long(loaded, 0, run):
            return await self._enqueue(principal, loaded, operation, body)
        await run.report("rules", 0.05)
        text, metadata = loaded.text, dict(loaded.document.legal_metadata or {})
        if loaded.kind == "contract":
            analysis = await asyncio.to_thread(analyze_contract, text, metadata, model)
        elif loaded.kind == "case":
            analysis = analyze_case(text, metadata, loaded.citations)
        else:
            analysis = analyze_general(text, metadata)
        planned = len(analysis.asks) if self._asks_model() else 0
        if run.may_queue and self._long(loaded, planned, run):
            return await self._enqueue(principal, loaded, operation, body)
        extraction = await self._ask_model(principal, analysis, text, metadata, run)
        analysis.fields.update(extraction.values)
        result = render(analysis, loaded.locate, loaded.document.document_type)
        if extraction.model is not None:
            result["model"] = f"{MODEL_NAME} + {extraction.model}"
        row = await self._store(principal, loaded, result, extraction.calls)
        return analysis_out(row, cached=False)

    def _asks_model(self) -> bool:
        return self.state.llm is not None and self.state.model_fields

    def _long(self, loaded: Loaded, model_calls: int, run: Run) -> bool:
        """Whether this work is long enough to run as a job."""
        settings = self.resources.settings
        inline_calls = run.inline_calls
        if inline_calls is None:
            inline_calls = settings.analysis_inline_model_calls
        return len(loaded.pages) > settings.analysis_inline_max_pages or model_calls > inline_calls

    async def _enqueue(
        self, principal: Principal, loaded: Loaded, operation: str, request: dict[str, Any]
    ) -> JobAccepted:
        """Record the job that does this work for `principal` (asking again while it is
        pending returns the same job)."""
        document = loaded.document
        subject = Subject(
            DOCUMENT_SUBJECT, document.id, document.organization_id, document.matter_id
        )
        payload = {
            "operation": operation,
            "request": request,
            "requested_by": principal.as_requester(),
        }
        material = json.dumps([operation, request, loaded.key], sort_keys=True).encode()
        async with transaction(self.resources.write_sessionmaker) as session:
            job = await enqueue(
                session,
                ANALYSIS_JOB,
                subject,
                payload,
                f"{principal.user_id}:{hashlib.sha256(material).hexdigest()}",
                max_attempts=self.resources.settings.job_max_attempts,
                created_by=principal.user_id,
                pipeline_version=RULES_VERSION,
            )
            accepted = JobAccepted(
                job_id=job.id, document_id=document.id, operation=operation, status=job.status
            )
        log.info("analysis.queued", job_id=accepted.job_id, operation=operation)
        return accepted

    def _fields_by(self) -> str:
        """Who reads the fields the rules cannot: part of the cache key, so a change of model
        or prompt is not answered from results another made."""
        llm = self.state.llm
        if llm is None or not self.state.model_fields:
            return "rules"
        return f"{llm.primary.name}/{llm.primary.model}/prompt-{PROMPT_VERSION}"

    async def _ask_model(
        self,
        principal: Principal,
        analysis: Analysis,
        text: str,
        metadata: dict[str, Any],
        run: Run,
    ) -> Extraction:
        """The fields the rules left to a model, asked and checked; none when no model is
        configured (they stay null with the rules' reason)."""
        llm = self.state.llm
        if llm is None or not self.state.model_fields or not analysis.asks:
            return Extraction()
        privacy = await self._privacy(principal, metadata)
        collected = Extraction(on_call=run.calls_made("model", len(analysis.asks)))
        return await extract(llm, text, analysis.asks, privacy, collected)

    async def _privacy(self, principal: Principal, metadata: dict[str, Any]) -> Privacy:
        """The organization's redaction policy, with the document's parties when they count."""
        async with transaction(self.resources.sessionmaker) as session:
            policy, parties = await privacy_of(
                session, self.resources.settings, principal.organization_id
            )
        if parties:
            names = tuple(str(n) for n in metadata.get("parties") or [])
            policy = Privacy(policy.scope, names)
        return policy

    async def summarize(
        self,
        principal: Principal,
        document_id: str,
        request: SummaryRequest,
        run: Run = INLINE,
    ) -> SummaryOut | JobAccepted:
        llm = self.state.llm
        options: dict[str, Any] = {"length": request.length, "method": request.method}
        if request.method == "abstractive":
            if llm is None:
                raise MethodUnavailable()
            options["model"] = f"{llm.primary.name}/{llm.primary.model}"
            options["prompt"] = ABSTRACT_PROMPT_VERSION
        loaded = await self._load(principal, document_id, lambda _: "summary", options)
        if loaded.cached is not None:
            return summary_out(loaded.cached, cached=True)
        body = request.model_dump()
        if request.method == "abstractive":
            assert llm is not None
            limit = self.resources.settings.summary_max_model_calls
            planned = planned_calls(llm, loaded.text, request.length)
            if planned > limit:
                raise TooLongToSummarize(planned, limit)
            if run.may_queue and self._long(loaded, planned, run):
                return await self._enqueue(principal, loaded, "summary", body)
            made = await self._abstract(principal, llm, loaded, request.length, planned, run)
            result = {
                "summary": " ".join(p.text for p in made.points),
                "key_points": [
                    {"text": p.text, "sources": loaded.locate([(p.start, p.end)])}
                    for p in made.points
                ],
                "method": request.method,
                "model": made.model or f"{llm.primary.name}/{llm.primary.model}",
                "unsupported_sentences": made.unsupported,
            }
            row = await self._store(principal, loaded, result, made.calls)
        else:
            if run.may_queue and self._long(loaded, 0, run):
                return await self._enqueue(principal, loaded, "summary", body)
            await run.report("rank", 0.1)
            points = await asyncio.to_thread(summarize, loaded.text, LENGTHS[request.length])
            sources = [loaded.locate([(p.start, p.end)]) for p in points]
            result = {
                "summary": " ".join(" ".join(s[0]["quote"].split()) for s in sources),
                "key_points": [
                    {"text": " ".join(s[0]["quote"].split()), "sources": s} for s in sources
                ],
                "method": request.method,
                "model": SUMMARY_MODEL,
            }
            row = await self._store(principal, loaded, result)
        return summary_out(row, cached=False)

    async def _abstract(
        self,
        principal: Principal,
        llm: LLMChain,
        loaded: Loaded,
        length: str,
        planned: int,
        run: Run,
    ) -> Abstract:
        metadata = dict(loaded.document.legal_metadata or {})
        privacy = await self._privacy(principal, metadata)
        limit = self.resources.settings.summary_max_model_calls
        try:
            return await summarize_abstractive(
                llm,
                loaded.text,
                length,
                privacy,
                max_calls=limit,
                on_call=run.calls_made("summarize", planned),
            )
        except TooLong as exc:
            raise TooLongToSummarize(exc.calls, limit) from None
        except LLMError as exc:
            log.warning("summary.model_unavailable", error=str(exc))
            raise ModelFailed() from None

    async def questions(
        self,
        principal: Principal,
        document_id: str,
        request: QuestionsRequest,
        run: Run = INLINE,
    ) -> QuestionsOut | JobAccepted:
        """Questions drawn from the document's analysis (made, or the stored one); when they
        are fewer than asked and a model reads for analyses, questions it writes about the
        document's central sentences, each kept only where its sentence bears the answer out.
        Long work (the analysis, or the questions written) runs as one `questions` job."""
        analysis = await self.analyze(
            principal,
            document_id,
            AnalysisRequest(),
            run,
            queue_as=("questions", request.model_dump()),
        )
        if isinstance(analysis, JobAccepted):
            return analysis
        found = [
            QuestionOut(
                question=q.question, answer=q.answer, difficulty=q.difficulty, sources=q.sources
            )
            for q in questions_from(analysis, request.count, request.difficulty)
        ]
        model = analysis.model
        llm = self.state.llm
        if len(found) < request.count and llm is not None and self.state.model_fields:
            wanted = request.count - len(found)
            asked = _Asked(request, wanted, run)
            made = await self._written(principal, document_id, asked, found)
            if isinstance(made, JobAccepted):
                return made
            written, writer = made
            found += written
            model = f"{analysis.model} + {writer}" if writer else analysis.model
        return QuestionsOut(document_id=document_id, questions=found, model=model)

    async def _written(
        self,
        principal: Principal,
        document_id: str,
        asked: _Asked,
        drawn: list[QuestionOut],
    ) -> tuple[list[QuestionOut], str | None] | JobAccepted:
        """Up to `wanted` questions a model writes (stored, and reused, like analyses)."""
        llm = self.state.llm
        assert llm is not None
        request, wanted, run = asked
        difficulty = request.difficulty or "medium"
        options = {
            "wanted": wanted,
            "difficulty": difficulty,
            "model": f"{llm.primary.name}/{llm.primary.model}",
            "prompt": PROMPT_VERSION,
        }
        loaded = await self._load(principal, document_id, lambda _: "questions", options)
        if loaded.cached is None and run.may_queue and self._long(loaded, wanted, run):
            return await self._enqueue(principal, loaded, "questions", request.model_dump())
        if loaded.cached is None:
            used = {(s.start, s.end) for q in drawn for s in q.sources}
            points = await asyncio.to_thread(summarize, loaded.text, wanted + len(used) + 2)
            sentences = [(p.start, p.end) for p in points if (p.start, p.end) not in used]
            metadata = dict(loaded.document.legal_metadata or {})
            collected = Extraction(on_call=run.calls_made("questions", wanted))
            written = await write_questions(
                llm,
                loaded.text,
                sentences[:wanted],
                difficulty,
                await self._privacy(principal, metadata),
                collected,
            )
            result = {
                "questions": [
                    {
                        "question": w.question,
                        "answer": w.answer,
                        "difficulty": difficulty,
                        "sources": loaded.locate([w.source]),
                    }
                    for w in written
                ],
                "model": collected.model,
            }
            row = await self._store(principal, loaded, result, collected.calls)
        else:
            row = loaded.cached
        return (
            [QuestionOut.model_validate(q) for q in row.result["questions"]],
            row.result["model"],
        )

    async def contract_grid(
        self, principal: Principal, request: ContractGridRequest
    ) -> ContractGridOut:
        """Documents by clause categories: each indexed contract's analysis (stored ones
        reused), the others listed with their status."""
        if request.matter_id is None and request.document_ids is None:
            raise UnknownScope("matter_id", "name a matter or documents")
        model = await self.state.clause_model()
        unknown = sorted(set(request.categories or []) - set(model.categories))
        if unknown:
            raise UnknownScope("categories", f"unknown categories: {', '.join(unknown)}")
        categories = request.categories or model.categories
        documents = await self._grid_documents(principal, request)
        rows = []
        for document in documents:
            clauses: list[ClauseOut] = []
            job_id = None
            if document.status == "indexed":
                try:
                    analysis = await self.analyze(
                        principal,
                        document.id,
                        AnalysisRequest(analysis_type="contract"),
                        Run(inline_calls=0),
                    )
                except (EmptyText, NotReady):  # emptied or reprocessed meanwhile
                    analysis = None
                if isinstance(analysis, JobAccepted):
                    job_id = analysis.job_id
                elif analysis is not None:
                    by_category = {c.category: c for c in analysis.clauses}
                    clauses = [by_category[k] for k in categories if k in by_category]
            rows.append(
                GridRowOut(
                    document_id=document.id,
                    title=document.title,
                    status=document.status,
                    clauses=clauses,
                    job_id=job_id,
                )
            )
        return ContractGridOut(categories=categories, documents=rows)

    async def _grid_documents(
        self, principal: Principal, request: ContractGridRequest
    ) -> list[Document]:
        async with transaction(self.resources.sessionmaker) as session:
            service = DocumentService(session, self.resources)
            if request.matter_id is not None:
                try:
                    await get_matter(session, principal, request.matter_id)
                except MatterNotFound:
                    raise UnknownScope("matter_id") from None
            if request.document_ids is not None:
                wanted = list(dict.fromkeys(request.document_ids))
                if await service.visible_ids(principal, wanted) != set(wanted):
                    raise UnknownScope("document_ids")
                found = [await service.get(principal, id_) for id_ in wanted]
                if request.matter_id is not None:
                    found = [d for d in found if d.matter_id == request.matter_id]
                return found
            listed, _ = await service.list(
                principal,
                PageParams(limit=MAX_GRID_DOCUMENTS, offset=0),
                matter_id=request.matter_id,
            )
            return list(listed)

    async def _load(
        self,
        principal: Principal,
        document_id: str,
        kind_of: Callable[[Document], str],
        options: Any,
    ) -> Loaded:
        """The document (visible, indexed), the kind asked, and either the stored result
        for the same request or the text and citations to make one from."""
        async with transaction(self.resources.sessionmaker) as session:
            documents = DocumentService(session, self.resources)
            document = await documents.get(principal, document_id)
            _ready(document)
            kind = kind_of(document)
            key = _cache_key(document, kind, options)
            cached = await AnalysisRepository(session).cached(principal, document_id, key)
            if cached is not None:
                return Loaded(document, kind, key, cached)
            stored = await documents.text(principal, document_id)
            citations = list(await documents.citations(principal, document_id))
        if stored is None:
            raise NotReady()
        if not stored.text.strip():
            raise EmptyText()
        return Loaded(document, kind, key, None, stored.text, stored.pages, citations)

    async def _store(
        self,
        principal: Principal,
        loaded: Loaded,
        result: dict[str, Any],
        calls: Sequence[ModelCall] = (),
    ) -> DocumentAnalysis:
        """The result, and the model calls it took (their usage), in one transaction."""
        document = loaded.document
        row = DocumentAnalysis(
            document_id=document.id,
            organization_id=document.organization_id,
            matter_id=document.matter_id,
            kind=loaded.kind,
            cache_key=loaded.key,
            document_version=_version(document),
            result=result,
            created_by=principal.user_id,
        )
        async with transaction(self.resources.write_sessionmaker) as session:
            session.add(row)
            for call in calls:
                await record_model_call(
                    session, principal, call, self.resources.settings.llm_prices
                )
        return row

    async def latest(self, principal: Principal, document_id: str) -> AnalysisOut:
        async with transaction(self.resources.sessionmaker) as session:
            document = await DocumentService(session, self.resources).get(principal, document_id)
            row = await AnalysisRepository(session).latest(
                principal, document_id, _version(document), ANALYSIS_KINDS
            )
        if row is None:
            raise AnalysisNotFound()
        return analysis_out(row, cached=True)


def _ready(document: Document) -> None:
    if document.status == "failed":
        raise DocumentFailed()
    if document.status != "indexed":
        raise NotReady()


def _version(document: Document) -> str:
    return document.indexed_at.isoformat() if document.indexed_at else ""


def _cache_key(document: Document, kind: str, options: Any) -> str:
    material = [document.sha256, _version(document), kind, RULES_VERSION, options]
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


class _Asked(NamedTuple):
    request: QuestionsRequest
    wanted: int  # questions a model is to write
    run: Run
