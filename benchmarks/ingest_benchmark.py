"""End-to-end ingestion throughput on text PDFs, against the bare pipeline on the same files.

    .venv/bin/python benchmarks/ingest_benchmark.py [--files N] [--mode embedded|celery|both]
        [--workers N] [--processes N] [--celery-workers N] [--concurrency N] [--runs N] [--ceiling]

Uploads the contract PDFs in shared/fixtures/contracts-pdf through the real API (in-process
ASGI) and waits until every document is indexed, watching as a client would (one list request
every 0.25 s); prints pages/s, timed once the service is warm (the warm-up is printed apart).
- embedded: the default mode — SQLite in a temporary data dir, the in-process job runner
  (`--workers` jobs at once) and its pool of `--processes` worker processes;
- celery: PostgreSQL and Redis started on 127.0.0.1 (tests/support/services.py), the API with
  LEXBASE_JOB_BACKEND=celery, and `--celery-workers` `lexbase worker` processes of
  `--concurrency` each (a pool process runs one job at a time, with one stage process of its
  own), timed once every pool process has loaded the pipeline and embedder.
The floor is the same files through `run_pipeline` (extraction, enrichment, chunking) plus
embedding of every chunk, in one process with no API, database or queue, measured before each
run; the ratio says how much of that the service keeps, and the CPU seconds each process of
the service used during the timed part show where the rest goes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for the test factories
from tests.factories import create_tenant
from tests.support.serve import LEXBASE, inherited_environment
from tests.support.services import start_postgres, start_redis

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


def _floor_in_process(files: list[Path]) -> tuple[float, int]:
    return bare_pipeline(files, MODEL_DIR)


def two_floors_at_once(files: list[Path]) -> float:
    """Pages/s of two processes each running the whole floor at the same time: what the
    machine's cores give when nothing but the floor's work runs (its ceiling)."""
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(2) as pool:
        results = pool.map(_floor_in_process, [files, files])
    return sum(pages for _, pages in results) / max(seconds for seconds, _ in results)


def cpu_seconds() -> dict[str, float]:
    """CPU seconds so far of this process (the API, the embedded runner, the benchmark's
    client), of each of its descendants (worker processes, Celery) and of PostgreSQL and
    Redis (summed over their processes)."""
    me = psutil.Process()
    seconds = {"service process": time.process_time()}
    for child in me.children(recursive=True):
        try:
            times = child.cpu_times()
            name = " ".join(child.cmdline()[1:4]) or child.name()
        except psutil.Error:
            continue
        seconds[f"{child.pid} {name[:40]}"] = times.user + times.system
    for process in psutil.process_iter(["name", "cpu_times"]):
        name = process.info["name"] or ""
        if name.startswith(("postgres", "redis-server")) and process.info["cpu_times"]:
            times = process.info["cpu_times"]
            key = "postgresql" if name.startswith("postgres") else "redis"
            seconds[key] = seconds.get(key, 0.0) + times.user + times.system
    return seconds


async def upload_and_wait(c: httpx.AsyncClient, headers: dict[str, str], files: list[Path]) -> int:
    """Upload `files`, then watch as a client would (one list request every quarter of a
    second) until each is indexed; the pages indexed."""
    ids = []
    for path in files:
        response = await c.post(
            "/api/v1/documents", headers=headers, files={"file": (path.name, path.read_bytes())}
        )
        ids.append(response.json()["document"]["id"])
    pages, waiting = 0, set(ids)
    while waiting:
        await asyncio.sleep(0.25)
        listed = (await c.get("/api/v1/documents", params={"limit": 100}, headers=headers)).json()
        for document in listed["items"]:
            if document["id"] not in waiting:
                continue
            if document["status"] == "failed":
                raise RuntimeError(f"{document['filename']} failed: {document['error']}")
            if document["status"] == "indexed":
                waiting.discard(document["id"])
                pages += document["page_count"] or 0
    return pages


async def timed(settings: Settings, files: list[Path]) -> tuple[float, int, dict[str, float]]:
    """The API in this process on `settings`: warm, then `files` timed; seconds, pages and
    the CPU seconds each process used meanwhile."""
    tenant = await create_tenant(settings, "Bench")
    headers = tenant["paralegal"].headers
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        begun = time.perf_counter()
        await app.state.warm_up
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as c:
            print(f"  warm-up: {time.perf_counter() - begun:.2f}s")
            before = cpu_seconds()
            started = time.perf_counter()
            pages = await upload_and_wait(c, headers, files)
            seconds = time.perf_counter() - started
            after = cpu_seconds()
    used = {k: round(v - before.get(k, 0.0), 2) for k, v in after.items()}
    return seconds, pages, {k: v for k, v in used.items() if v >= 0.05}


def base_settings(data_dir: Path, **values: Any) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        env=Environment.TEST,
        data_dir=data_dir,
        model_dir=MODEL_DIR,
        secret_key=SECRET,
        rate_limit_enabled=False,
        **values,
    )


async def through_embedded(
    files: list[Path], workers: int, processes: int
) -> tuple[float, int, dict[str, float]]:
    data_dir = Path(tempfile.mkdtemp(prefix="lexbase-bench-"))
    try:
        settings = base_settings(data_dir, embedded_workers=workers, worker_processes=processes)
        upgrade(settings)
        # A running service has started and warmed its worker processes (imports, embedder).
        return await timed(settings, files)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


@contextmanager
def celery_workers(
    settings: Settings, count: int, concurrency: int, directory: Path
) -> Iterator[None]:
    env = inherited_environment() | {
        "LEXBASE_ENV": "test",
        "LEXBASE_SECRET_KEY": SECRET,
        "LEXBASE_DATA_DIR": str(settings.data_dir),
        "LEXBASE_MODEL_DIR": str(MODEL_DIR),
        "LEXBASE_DATABASE_URL": settings.resolved_database_url,
        "LEXBASE_REDIS_URL": settings.redis_url or "",
        "LEXBASE_JOB_BACKEND": "celery",
        "LEXBASE_LOG_JSON": "true",
    }
    workers = []
    for n in range(count):
        command = [*LEXBASE, "worker", "--concurrency", str(concurrency), "--name", f"w{n}@bench"]
        with (directory / f"worker-{n}.log").open("ab") as log:
            workers.append(
                subprocess.Popen(  # noqa: S603 - this interpreter running lexbase
                    command,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
    try:
        # Ready when every pool process has started its stage process with the pipeline and
        # embedder loaded (LEXBASE_WORKER_WARM_UP), as a deployed worker is before work comes.
        deadline = time.monotonic() + 300
        while sum(warm_processes(directory, n) for n in range(count)) < count * concurrency:
            if any(w.poll() is not None for w in workers) or time.monotonic() > deadline:
                raise RuntimeError("the Celery workers did not start; see " + str(directory))
            time.sleep(0.2)
        yield
    finally:
        for worker in workers:
            os.killpg(worker.pid, signal.SIGTERM)
        for worker in workers:
            try:
                worker.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait(timeout=30)


def warm_processes(directory: Path, n: int) -> int:
    return (directory / f"worker-{n}.log").read_text(errors="replace").count("worker.process_warm")


async def through_celery(
    files: list[Path], workers: int, concurrency: int
) -> tuple[float, int, dict[str, float]]:
    directory = Path(tempfile.mkdtemp(prefix="lexbase-bench-celery-"))
    postgres = start_postgres(directory)
    redis = start_redis(directory)
    try:
        settings = base_settings(
            directory / "data",
            database_url=postgres.url,
            redis_url=redis.url,
            job_backend="celery",
            embedded_workers=0,
        )
        upgrade(settings)
        with celery_workers(settings, workers, concurrency, directory):
            return await timed(settings, files)
    finally:
        redis.stop()
        postgres.stop()
        shutil.rmtree(directory, ignore_errors=True)


def report(label: str, bare_rate: float, result: tuple[float, int, dict[str, float]]) -> float:
    seconds, pages, cpu = result
    ratio = (pages / seconds) / bare_rate
    print(f"  {label}: {pages} pages in {seconds:6.2f}s = {pages / seconds:6.1f} pages/s")
    print(f"  ratio service / bare: {ratio:.2f}")
    print(f"  CPU seconds in the timed part ({sum(cpu.values()):.1f} of {2 * seconds:.1f} on")
    print(f"  {os.cpu_count()} cores): " + ", ".join(f"{k}: {v}" for k, v in cpu.items()))
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=25)
    parser.add_argument("--mode", choices=["embedded", "celery", "both"], default="both")
    parser.add_argument("--workers", type=int, default=4, help="embedded: jobs at once")
    parser.add_argument("--processes", type=int, default=2, help="embedded: worker processes")
    parser.add_argument("--celery-workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=2, help="per Celery worker")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument(
        "--ceiling", action="store_true", help="also time two floors at once (the cores' limit)"
    )
    args = parser.parse_args()
    configure_logging("WARNING", json=False)
    pdfs = sorted(p for p in CONTRACTS.iterdir() if p.suffix.lower() == ".pdf")
    files = pdfs[: args.files]
    print(f"machine: {os.cpu_count()} cores; {len(files)} PDFs")
    ratios: dict[str, list[float]] = {}
    for run in range(1, args.runs + 1):
        bare_seconds, bare_pages = bare_pipeline(files, MODEL_DIR)
        bare_rate = bare_pages / bare_seconds
        print(
            f"run {run}: bare pipeline (1 process): {bare_pages} pages in {bare_seconds:.2f}s"
            f" = {bare_rate:.1f} pages/s"
        )
        if args.ceiling:
            ceiling = two_floors_at_once(files)
            print(f"  two floors at once: {ceiling:.1f} pages/s = {ceiling / bare_rate:.2f}x")
        if args.mode in ("embedded", "both"):
            result = asyncio.run(through_embedded(files, args.workers, args.processes))
            label = f"embedded ({args.workers} jobs at once, {args.processes} processes)"
            ratios.setdefault("embedded", []).append(report(label, bare_rate, result))
        if args.mode in ("celery", "both"):
            result = asyncio.run(through_celery(files, args.celery_workers, args.concurrency))
            label = f"celery ({args.celery_workers} workers x {args.concurrency} processes)"
            ratios.setdefault("celery", []).append(report(label, bare_rate, result))
    for mode, values in ratios.items():
        print(f"{mode}: ratio per run " + " / ".join(f"{v:.2f}" for v in values))


if __name__ == "__main__":
    main()
