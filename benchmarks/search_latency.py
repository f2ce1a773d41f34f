"""Search latency at scale, with a tenant filter, and recall of the vector stage.

    .venv/bin/python benchmarks/search_latency.py --chunks 100000 [--orgs 10] [--queries 200]
        [--database-url postgresql+asyncpg://... | --postgres] [--data-dir DIR]
        (default: SQLite in a temporary directory; --postgres starts a throwaway server;
        --data-dir keeps the SQLite landscape there, and a database that already holds the
        same landscape is measured again without rebuilding it)

Builds a synthetic firm landscape straight into the database: `--orgs` organizations share
`--chunks` chunks evenly (so one organization is 1/orgs of the rows — 10% by default), each
chunk a real ~500-character passage of the CUAD contracts (cycled; chunked by the product's
chunker) with its model2vec embedding, under documents with profiles, exactly as ingestion
stores them (keyword index maintained by the database). Then runs CUAD-style questions
through `SearchService` as a member of the first organization and prints p50/p95 per mode.

Vector recall: the vector stage's top 10 against an exact numpy search over the same
organization's vectors (SQLite's in-memory search is exact by construction; PostgreSQL's
HNSW is approximate).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
from sqlalchemy import func, insert, select, text

from lexbase.auth.models import Organization
from lexbase.core.config import Settings
from lexbase.core.db import transaction
from lexbase.core.logging import configure_logging
from lexbase.core.migrate import upgrade
from lexbase.core.permissions import Role
from lexbase.core.principal import Principal
from lexbase.documents.models import Chunk, Document, DocumentProfile
from lexbase.ingest.chunking import chunk
from lexbase.ingest.embedding import passage_text
from lexbase.ingest.pipeline import CHUNK_MAX_CHARS, CHUNK_MIN_CHARS, CHUNK_TARGET_CHARS
from lexbase.providers.embedders import embedder_spec, load_embedder, prepare_embedder
from lexbase.providers.resources import open_resources
from lexbase.search.deps import SearchState
from lexbase.search.filters import CandidateFilter
from lexbase.search.index import open_search_index
from lexbase.search.keyword import ensure_organization_index
from lexbase.search.schemas import SearchRequest
from lexbase.search.service import SearchService

CUAD = (
    Path(
        os.environ.get("LEXBASE_EVAL_DIR", Path(__file__).resolve().parents[2] / "shared" / "eval")
    )
    / "legalbench-cuad"
)
CHUNKS_PER_DOCUMENT = 50
BATCH = 5000


def passages(limit_files: int | None) -> tuple[list[str], list[str]]:
    """(chunk texts, their document titles) from the CUAD contracts."""
    texts, titles = [], []
    files = sorted((CUAD / "corpus" / "cuad").glob("*.txt"))[:limit_files]
    for path in files:
        text = path.read_text()
        for piece in chunk(
            text,
            [],
            target_chars=CHUNK_TARGET_CHARS,
            max_chars=CHUNK_MAX_CHARS,
            min_chars=CHUNK_MIN_CHARS,
        ):
            texts.append(piece.text)
            titles.append(path.stem)
    return texts, titles


async def existing(settings: Settings, total: int, orgs: int) -> list[str] | None:
    """The organizations of a landscape of this size already in the database, if any."""
    resources = open_resources(settings)
    try:
        async with transaction(resources.sessionmaker) as session:
            rows = (
                await session.execute(
                    select(Organization.id, Organization.name).where(
                        Organization.name.like("Firm %")
                    )
                )
            ).all()
            chunks = await session.scalar(select(func.count()).select_from(Chunk))
    finally:
        await resources.close()
    if len(rows) != orgs or chunks != total:
        return None
    return [o for o, _ in sorted(rows, key=lambda row: int(row[1].split()[1]))]


async def build(settings: Settings, total: int, orgs: int) -> list[str]:
    upgrade(settings)
    found = await existing(settings, total, orgs)
    if found is not None:
        print(f"reusing the landscape already in the database ({total} chunks)")
        return found
    spec = embedder_spec(settings)
    prepare_embedder(spec)
    embedder = load_embedder(spec)
    texts, titles = passages(None)
    started = time.perf_counter()
    vectors = embedder.embed_passages(
        [passage_text(t, None, x) for t, x in zip(titles, texts, strict=True)]
    )
    print(f"embedded {len(texts)} distinct passages in {time.perf_counter() - started:.1f}s")
    resources = open_resources(settings)
    organization_ids = [str(uuid.uuid4()) for _ in range(orgs)]
    try:
        async with transaction(resources.write_sessionmaker) as session:
            await session.execute(
                insert(Organization),
                [{"id": o, "name": f"Firm {n}"} for n, o in enumerate(organization_ids)],
            )
        started = time.perf_counter()
        documents = total // CHUNKS_PER_DOCUMENT
        for first in range(0, documents, BATCH // CHUNKS_PER_DOCUMENT):
            batch = range(first, min(documents, first + BATCH // CHUNKS_PER_DOCUMENT))
            doc_rows, profile_rows, chunk_rows = [], [], []
            for d in batch:
                organization = organization_ids[d % orgs]
                document_id = str(uuid.uuid4())
                base = (d * CHUNKS_PER_DOCUMENT) % len(texts)
                title = f"{titles[base]} #{d}"
                doc_rows.append(
                    {
                        "id": document_id,
                        "organization_id": organization,
                        "title": title,
                        "filename": f"{title}.txt",
                        "content_type": "text/plain",
                        "kind": "text",
                        "size_bytes": 1,
                        "sha256": uuid.uuid4().hex + uuid.uuid4().hex,
                        "blob_key": "0" * 64,
                        "status": "indexed",
                        "document_type": "contract",
                        "tags": [],
                        "legal_metadata": {},
                    }
                )
                profile_rows.append(
                    {
                        "document_id": document_id,
                        "organization_id": organization,
                        "text": f"{title}\n{texts[base]}",
                    }
                )
                position = 0
                for ordinal in range(CHUNKS_PER_DOCUMENT):
                    i = (base + ordinal) % len(texts)
                    chunk_rows.append(
                        {
                            "id": str(uuid.uuid4()),
                            "document_id": document_id,
                            "organization_id": organization,
                            "ordinal": ordinal,
                            "start": position,
                            "end": position + len(texts[i]),
                            "text": texts[i],
                            "embedding": vectors[i],
                            "embedding_model": embedder.name,
                        }
                    )
                    position += len(texts[i]) + 1
            async with transaction(resources.write_sessionmaker) as session:
                await session.execute(insert(Document), doc_rows)
                await session.execute(insert(DocumentProfile), profile_rows)
                await session.execute(insert(Chunk), chunk_rows)
            done = (batch[-1] + 1) * CHUNKS_PER_DOCUMENT
            sys.stdout.write(f"\rloaded {done}/{total} chunks")
            sys.stdout.flush()
        print(f"\nloaded in {time.perf_counter() - started:.1f}s")
        started = time.perf_counter()
        async with transaction(resources.write_sessionmaker) as session:
            for organization in organization_ids:  # SQLite: each firm's keyword index
                await ensure_organization_index(session, organization)
        if settings.is_sqlite:
            print(f"keyword indexes built in {time.perf_counter() - started:.1f}s")
        started = time.perf_counter()
        index = open_search_index(resources.engine.dialect.name)
        await index.prepare_vectors(resources.engine, embedder.name, embedder.dimensions)
        if not settings.is_sqlite:
            async with resources.engine.connect() as connection:
                await connection.execute(text("ANALYZE"))
                await connection.commit()
            print(f"HNSW index and ANALYZE in {time.perf_counter() - started:.1f}s")
    finally:
        await resources.close()
    return organization_ids


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def measure(settings: Settings, organization_id: str, count: int) -> None:
    tests = json.loads((CUAD / "queries.json").read_text())["tests"]
    questions = sorted({t["query"].split("; ", 1)[-1] for t in tests})
    queries = [questions[i % len(questions)] for i in range(count)]
    principal = Principal(user_id="bench", organization_id=organization_id, role=Role.ADMIN)
    resources = open_resources(settings)
    state = SearchState.create(settings)
    service = SearchService(resources.statement_reads, settings, state)
    try:
        embedder = await state.embedder.wait()
        if embedder is None:
            raise SystemExit("the query embedder could not be loaded")
        # The first hybrid pass sees every question's words for the first time (their counts
        # are taken then, search/terms.py); the second is the steady state.
        for label, mode in (
            ("hybrid, first sight", "hybrid"),
            ("hybrid, again", "hybrid"),
            ("keyword", "keyword"),
            ("semantic", "semantic"),
        ):
            latencies = []
            for n, query in enumerate([queries[0], *queries]):
                request = SearchRequest(query=query, mode=mode, limit=10)
                begun = time.perf_counter()
                await service.search(principal, request)
                if n:  # the first query loads the organization's vectors: not timed
                    latencies.append((time.perf_counter() - begun) * 1000)
            print(
                f"{label:20} p50 {statistics.median(latencies):7.1f} ms  "
                f"p95 {percentile(latencies, 0.95):7.1f} ms  (n={len(latencies)})"
            )
        await vector_recall(settings, resources, state.index, principal, embedder, questions)
    finally:
        await state.embedder.close()
        await resources.close()


async def vector_recall(settings, resources, index, principal, embedder, questions) -> None:  # type: ignore[no-untyped-def]
    async with transaction(resources.sessionmaker) as session:
        rows = (
            await session.execute(
                select(Chunk.pk, Chunk.embedding).where(
                    Chunk.organization_id == principal.organization_id
                )
            )
        ).all()
    pks = np.array([r[0] for r in rows])
    matrix = np.vstack([r[1] for r in rows])
    if settings.is_sqlite:
        print(f"vector recall@10 vs exact: 1.000 (exact search, {len(pks)} rows)")
        return
    hits = total = 0
    for question in questions:
        vector = embedder.embed_query(question)
        exact = set(pks[np.argsort(-(matrix @ vector))[:10]].tolist())
        async with transaction(resources.sessionmaker) as session:
            found = await index.vector_candidates(
                session, vector, embedder.name, CandidateFilter(principal), 10
            )
        hits += len(exact & {pk for pk, _ in found})
        total += 10
    print(f"vector recall@10 vs exact: {hits / total:.3f} ({len(questions)} queries)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--orgs", type=int, default=10)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--data-dir", type=Path, default=None, help="keep SQLite data here")
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="start a throwaway PostgreSQL (+pgvector) on 127.0.0.1 and measure on it",
    )
    args = parser.parse_args()
    configure_logging("WARNING", json=True)
    with tempfile.TemporaryDirectory(prefix="lexbase-search-bench-") as scratch:
        database_url = args.database_url
        server = None
        if args.postgres:
            sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
            from tests.support.services import start_postgres

            server = start_postgres(Path(scratch))
            database_url = server.url
        try:
            settings = Settings(
                _env_file=None,
                data_dir=args.data_dir or Path(scratch),
                database_url=database_url,
                model_dir=Path(os.environ.get("LEXBASE_MODEL_DIR", "data/models")),
            )
            organizations = asyncio.run(build(settings, args.chunks, args.orgs))
            engine = "SQLite" if settings.is_sqlite else "PostgreSQL"
            print(
                f"{args.chunks} chunks in {args.orgs} organizations; searching one "
                f"({100 / args.orgs:.0f}% of the rows) on {engine}"
            )
            asyncio.run(measure(settings, organizations[0], args.queries))
        finally:
            if server is not None:
                server.stop()


if __name__ == "__main__":
    main()
