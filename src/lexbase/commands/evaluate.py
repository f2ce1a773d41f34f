"""`lexbase eval`: a retrieval eval through the product's own ingest and search code.

The corpus files are ingested as documents of a dedicated firm (file name = title), every
query runs through `SearchService` with no filters, and each returned chunk is written back
as `[start, end)` offsets into its source file — exact for plain text, whose extracted text
*is* the file's text. The results file is what `../shared/eval/score.py` scores.
"""

from __future__ import annotations

import json
import secrets
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from lexbase.commands.ingest import IngestOptions, Reporter, ingest
from lexbase.core.config import Settings
from lexbase.core.db import transaction
from lexbase.core.migrate import upgrade
from lexbase.core.permissions import Role
from lexbase.core.principal import Principal
from lexbase.documents.repository import DocumentRepository
from lexbase.providers.resources import open_resources
from lexbase.search.deps import SearchState
from lexbase.search.schemas import Mode, SearchRequest
from lexbase.search.service import SearchService
from lexbase.users.repository import UserRepository

EVAL_USER = "eval-runner@lexbase-eval.test"
EVAL_FIRM = "Retrieval evaluation"


@dataclass(frozen=True)
class EvalRun:
    results: list[dict[str, Any]]
    latencies_ms: list[float]
    ingest_seconds: float
    documents: int

    def latency_line(self) -> str:
        ordered = sorted(self.latencies_ms)
        if not ordered:
            return "no queries"
        p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
        return (
            f"queries {len(ordered)}: p50 {statistics.median(ordered):.1f} ms, "
            f"p95 {p95:.1f} ms, mean {statistics.fmean(ordered):.1f} ms"
        )


def load_queries(path: Path) -> list[dict[str, Any]]:
    tests: list[dict[str, Any]] = json.loads(path.read_text())["tests"]
    return tests


def corpus_files(corpus_dir: Path, listing: Path | None) -> list[str]:
    """Relative paths (as the queries name them) of the documents forming the haystack:
    the listing's when given, else every file under the corpus directory."""
    if listing is not None:
        files: list[str] = json.loads(listing.read_text())
        return files
    return sorted(str(p.relative_to(corpus_dir)) for p in corpus_dir.rglob("*") if p.is_file())


async def run_eval(
    settings: Settings,
    corpus_dir: Path,
    files: Sequence[str],
    queries: Sequence[dict[str, Any]],
    *,
    mode: Mode,
    depth: int,
    reporter: Reporter,
    progress: TextIO | None = None,
) -> EvalRun:
    await prepare_firm(settings)
    by_name = {Path(f).name: f for f in files}
    started = time.monotonic()
    summary = await ingest(
        settings,
        [corpus_dir / f for f in files],
        EVAL_USER,
        IngestOptions(concurrency=4, timeout=24 * 3600),
        reporter,
    )
    ingest_seconds = time.monotonic() - started
    if summary.failures:
        failed = ", ".join(f"{o.path.name}: {o.reason}" for o in summary.failures[:5])
        raise RuntimeError(f"{len(summary.failures)} corpus files failed to ingest ({failed})")

    resources = open_resources(settings)
    state = SearchState.create(settings)
    results: list[dict[str, Any]] = []
    latencies: list[float] = []
    try:
        await state.embedder.wait()  # a command may wait for the model; requests never do
        principal = await eval_principal(resources.sessionmaker)
        async with transaction(resources.sessionmaker) as session:
            filenames = await DocumentRepository(session).filenames(principal)
        paths = {id_: by_name[name] for id_, name in filenames.items() if name in by_name}
        service = SearchService(resources.statement_reads, settings, state)
        for number, test in enumerate(queries, start=1):
            request = SearchRequest(
                query=test["query"][:2000], mode=mode, limit=depth, highlight=False, facets=False
            )
            begun = time.perf_counter()
            response = await service.search(principal, request)
            latencies.append((time.perf_counter() - begun) * 1000)
            results.append(
                {
                    "query": test["query"],
                    "retrieved": [
                        {"file_path": paths[r.document_id], "span": [r.start, r.end]}
                        for r in response.results
                        if r.document_id in paths
                    ],
                }
            )
            if progress is not None and number % 100 == 0:
                progress.write(f"\r{number}/{len(queries)} queries")
                progress.flush()
    finally:
        await resources.close()
    return EvalRun(results, latencies, ingest_seconds, len(paths))


async def prepare_firm(settings: Settings) -> None:
    """A migrated database holding the evaluation firm and its user."""
    from lexbase.users.service import create_user_from_cli

    upgrade(settings)
    resources = open_resources(settings)
    try:
        async with transaction(resources.write_sessionmaker) as session:
            if not await UserRepository(session).all_by_email(EVAL_USER):
                await create_user_from_cli(
                    session,
                    settings,
                    email=EVAL_USER,
                    full_name="Evaluation",
                    role=Role.ADMIN,
                    password=secrets.token_urlsafe(24),
                    organization_id=None,
                    new_organization=EVAL_FIRM,
                )
    finally:
        await resources.close()


async def eval_principal(sessionmaker: Any) -> Principal:
    async with transaction(sessionmaker) as session:
        [user] = await UserRepository(session).all_by_email(EVAL_USER)
    return Principal(user_id=user.id, organization_id=user.organization_id, role=Role(user.role))
