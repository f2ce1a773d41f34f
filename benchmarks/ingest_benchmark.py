"""End-to-end ingestion throughput on text PDFs, against the bare pipeline on the same files.

    .venv/bin/python benchmarks/ingest_benchmark.py [--files N] [--workers N] [--processes N]

Uploads the contract PDFs in shared/fixtures/contracts-pdf through the real API (in-process
ASGI, embedded runner, SQLite in a temporary data dir), waits until every document is indexed,
and prints pages/s (timed once the service has started and warmed its worker processes; the
warm-up is printed apart). The floor is the same files through `run_pipeline` (extraction,
enrichment, chunking) plus embedding of every chunk, in one process with no API, database or
queue; the ratio says how much of that the service keeps.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for the test factories
from tests.factories import create_tenant

from lexbase.app import create_app
from lexbase.core.config import Environment, Settings
from lexbase.core.logging import configure_logging
from lexbase.core.migrate import upgrade
from lexbase.ingest.embedding import passage_text
from lexbase.ingest.limits import Limits
from lexbase.ingest.pipeline import run_pipeline
from lexbase.ingest.sniff import detect
from lexbase.providers.embedders import EmbedderSpec, get_embedder, prepare_embedder

CONTRACTS = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "contracts-pdf"
SECRET = secrets.token_urlsafe(48)
MODEL_DIR = Path(os.environ.get("LEXBASE_MODEL_DIR", "data/models")).resolve()


def bare_pipeline(files: list[Path], model_dir: Path) -> tuple[float, int]:
    spec = EmbedderSpec("model2vec", str(model_dir))
    prepare_embedder(spec)
    embedder = get_embedder(spec)  # loaded before the clock starts, as a worker keeps it
    started, pages = time.perf_counter(), 0
    for path in files:
        data = path.read_bytes()
        output = run_pipeline(data, detect(data, path.name), Limits())
        embedder.embed_passages([passage_text(path.name, c.section, c.text) for c in output.chunks])
        pages += len(output.extracted.pages)
    return time.perf_counter() - started, pages


async def through_service(files: list[Path], workers: int, processes: int) -> tuple[float, int]:
    data_dir = Path(tempfile.mkdtemp(prefix="lexbase-bench-"))
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        env=Environment.TEST,
        data_dir=data_dir,
        model_dir=MODEL_DIR,
        secret_key=SECRET,
        rate_limit_enabled=False,
        embedded_workers=workers,
        worker_processes=processes,
        job_poll_seconds=0.1,
    )
    upgrade(settings)
    tenant = await create_tenant(settings, "Bench")
    headers = tenant["paralegal"].headers
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        # A running service has started and warmed its worker processes (imports, embedder);
        # that one-off start-up is timed apart from the throughput.
        begun = time.perf_counter()
        await app.state.warm_up
        print(f"service warm-up: {time.perf_counter() - begun:.2f}s")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as c:
            started = time.perf_counter()
            ids = []
            for path in files:
                response = await c.post(
                    "/api/v1/documents",
                    headers=headers,
                    files={"file": (path.name, path.read_bytes())},
                )
                ids.append(response.json()["document"]["id"])
            pages = 0
            for document_id in ids:
                while True:
                    document = (
                        await c.get(f"/api/v1/documents/{document_id}", headers=headers)
                    ).json()
                    if document["status"] in ("indexed", "failed"):
                        pages += document["page_count"] or 0
                        break
                    await asyncio.sleep(0.05)
            return time.perf_counter() - started, pages


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=25)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()
    configure_logging("WARNING", json=False)
    files = sorted(p for p in CONTRACTS.iterdir() if p.suffix.lower() == ".pdf")[: args.files]
    print(f"machine: {os.cpu_count()} cores; {len(files)} PDFs")
    bare_seconds, bare_pages = bare_pipeline(files, MODEL_DIR)
    bare_rate = bare_pages / bare_seconds
    print(
        f"bare pipeline (1 process): {bare_pages} pages in {bare_seconds:.2f}s"
        f" = {bare_rate:.1f} pages/s"
    )
    seconds, pages = asyncio.run(through_service(files, args.workers, args.processes))
    print(
        f"service end to end ({args.workers} workers, {args.processes} processes): "
        f"{pages} pages in {seconds:6.2f}s = {pages / seconds:6.1f} pages/s"
    )
    print(f"ratio service / bare: {(pages / seconds) / (bare_pages / bare_seconds):.2f}")


if __name__ == "__main__":
    main()
