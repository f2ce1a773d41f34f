"""The Celery runner: two `lexbase worker` OS processes, a real Redis broker, real PostgreSQL.

The API runs with LEXBASE_JOB_BACKEND=celery, so it only records jobs and publishes their ids;
the workers run them through the same claim, lease and outcome code as the embedded runner.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from lexbase.app import create_app
from lexbase.core.config import Environment, Settings
from lexbase.core.db import create_engine, create_sessionmaker
from lexbase.documents.models import Chunk
from lexbase.documents.tasks import INGEST_JOB
from lexbase.ingest.limits import Limits
from lexbase.ingest.pipeline import run_pipeline
from lexbase.ingest.sniff import detect
from lexbase.jobs.models import Job
from tests.conftest import TEST_SECRET, SettingsFactory, running
from tests.documents.helpers import FILINGS, OPINIONS, upload, wait_done
from tests.factories import Tenant
from tests.health.test_work_metrics import sample
from tests.ingest import hostile
from tests.support.services import (
    PostgresServer,
    RedisServer,
    ServiceUnavailable,
    find_free_port,
    start_redis,
)
from tests.workflows.test_killed import DEFINITION

pytestmark = pytest.mark.parametrize("backend", ["postgres"], indirect=True)
OPINIONS_FIRST = sorted(OPINIONS.glob("*.txt"))[10]

# Short leases and polls so a killed worker's job comes back within seconds.
KNOBS: dict[str, Any] = {
    "job_backend": "celery",
    "job_lease_seconds": 3,
    "job_poll_seconds": 0.3,
    "job_retry_base_seconds": 0.2,
    "job_max_attempts": 5,
    "celery_concurrency": 1,
    "rate_limit_enabled": False,
    # A pool process starts its stage process at the first job, not at start: these tests
    # start and kill workers many times (the distributed tier runs them warmed).
    "worker_warm_up": False,
}


class Workers:
    """`lexbase worker` subprocesses sharing the test's database, blobs and broker."""

    def __init__(self, settings: Settings, directory: Path, count: int) -> None:
        env = {
            **os.environ,
            "LEXBASE_ENV": settings.env.value,
            "LEXBASE_SECRET_KEY": settings.secret_key.get_secret_value(),
            "LEXBASE_DATA_DIR": str(settings.data_dir),
            "LEXBASE_DATABASE_URL": settings.resolved_database_url,
            "LEXBASE_REDIS_URL": settings.redis_url or "",
            "LEXBASE_LOG_JSON": "true",
            **{f"LEXBASE_{name.upper()}": str(value) for name, value in KNOBS.items()},
        }
        self.logs = [directory / f"worker-{index}.log" for index in range(count)]
        self.metrics_ports = [find_free_port() for _ in range(count)]
        self.processes: list[subprocess.Popen[bytes]] = []
        for index, log in enumerate(self.logs):
            with log.open("wb") as out:
                self.processes.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "lexbase", "worker", "--name", f"w{index}@test"],
                        env=env | {"LEXBASE_WORKER_METRICS_PORT": str(self.metrics_ports[index])},
                        stdin=subprocess.DEVNULL,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                    )
                )

    def events(self, index: int, event: str) -> list[dict[str, Any]]:
        found = []
        for line in self.logs[index].read_text(errors="replace").splitlines():
            if line.startswith("{"):
                record = json.loads(line)
                if record.get("event") == event:
                    found.append(record)
        return found

    def wait_ready(self, limit: float = 90) -> None:
        deadline = time.monotonic() + limit
        for index, process in enumerate(self.processes):
            while not self.events(index, "worker.ready"):
                assert process.poll() is None, self.logs[index].read_text()[-3000:]
                assert time.monotonic() < deadline, "worker not ready in time"
                time.sleep(0.1)

    def metrics(self, index: int) -> str:
        """What the worker's own metrics endpoint serves (the sum over its pool processes)."""
        response = httpx.get(f"http://127.0.0.1:{self.metrics_ports[index]}/metrics", timeout=5)
        assert response.status_code == 200
        return response.text

    def succeeded(self, index: int) -> Counter[str]:
        return Counter(record["job_id"] for record in self.events(index, "job.succeeded"))

    def stop(self) -> list[int | None]:
        """SIGTERM (a warm shutdown); the exit codes, None for one that had to be killed."""
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        codes: list[int | None] = []
        for process in self.processes:
            try:
                codes.append(process.wait(timeout=30))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                codes.append(None)
        return codes


@pytest.fixture(scope="module")
def broker(redis_server: RedisServer, services_dir: Path) -> Iterator[RedisServer]:
    """A Redis of this module's own, which a test restarts (`redis_server` checks that Redis
    is available, failing under CI=true)."""
    try:
        server = start_redis(services_dir)
    except ServiceUnavailable as exc:  # pragma: no cover - redis_server started, so will this
        pytest.fail(str(exc))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("celery") / "data"


@pytest.fixture(scope="module")
def workers(
    postgres_server: PostgresServer,
    broker: RedisServer,
    data_dir: Path,
) -> Iterator[Workers]:
    """Two `lexbase worker` processes (concurrency 1 each), shared by this module's tests."""
    settings = Settings(
        _env_file=None,
        env=Environment.TEST,
        secret_key=TEST_SECRET,
        database_url=postgres_server.url,
        data_dir=data_dir,
        redis_url=broker.url,
        **KNOBS,
    )
    started = Workers(settings, data_dir.parent, count=2)
    try:
        started.wait_ready()
        yield started
    finally:
        codes = started.stop()
    assert codes == [0, 0], "a worker did not stop cleanly on SIGTERM"


@pytest.fixture
def settings(
    make_settings: SettingsFactory, broker: RedisServer, data_dir: Path, workers: Workers
) -> Settings:
    """The API's settings: the workers' database, blobs and broker; jobs go to the workers."""
    return make_settings(data_dir=data_dir, redis_url=broker.url, **KNOBS)


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(settings)
    try:
        yield create_sessionmaker(engine)
    finally:
        await engine.dispose()


async def jobs(db: async_sessionmaker[AsyncSession]) -> dict[str, Job]:
    async with db() as session:
        return {job.id: job for job in (await session.execute(select(Job))).scalars()}


async def chunk_count(db: async_sessionmaker[AsyncSession], document_id: str) -> int:
    async with db() as session:
        statement = select(func.count()).where(Chunk.document_id == document_id)
        return int((await session.execute(statement)).scalar_one())


async def test_jobs_run_once_each_spread_over_both_workers(
    settings: Settings, workers: Workers, tenant: Tenant, db: async_sessionmaker[AsyncSession]
) -> None:
    headers = tenant["paralegal"].headers
    files = sorted(OPINIONS.glob("*.txt"))[:8]
    async with running(create_app(settings)) as c:
        accepted = [await upload(c, headers, path.read_bytes(), path.name) for path in files]
        done = [await wait_done(c, headers, a["document"]["id"], limit=120) for a in accepted]
    assert [d["status"] for d in done] == ["indexed"] * len(files)
    rows = await jobs(db)
    assert {(j.status, j.attempts) for j in rows.values()} == {("succeeded", 1)}
    per_worker = [
        Counter({job_id: n for job_id, n in workers.succeeded(i).items() if job_id in rows})
        for i in range(2)
    ]
    assert all(per_worker), f"one worker did all the work: {per_worker}"
    assert per_worker[0] + per_worker[1] == Counter(rows.keys())  # each job ran exactly once
    # Each worker's metrics count the ingest jobs its log says it ran, and the API counts
    # both workers alive.
    ingest = {"type": INGEST_JOB, "outcome": "succeeded"}
    for index in range(2):
        logged = [e for e in workers.events(index, "job.succeeded") if e["job_type"] == INGEST_JOB]
        text = workers.metrics(index)
        assert sample(text, "lexbase_jobs_total", **ingest) == len(logged)
        assert sample(text, "lexbase_documents_processed_total", stage="index", outcome="succeeded")
    async with running(create_app(settings)) as c:
        details = await c.get("/api/v1/health/detailed", headers=tenant.admin.headers)
        scraped = (await c.get("/metrics")).text
    assert details.json()["queue"]["workers"] == 2
    assert sample(scraped, "lexbase_workers") == 2


async def test_permanent_failure_fails_once_with_its_error(
    settings: Settings, workers: Workers, tenant: Tenant
) -> None:
    headers = tenant["paralegal"].headers
    async with running(create_app(settings)) as c:
        accepted = await upload(c, headers, hostile.damaged_docx(), "damaged.docx")
        document = await wait_done(c, headers, accepted["document"]["id"])
        # Several sweeps later, nothing has picked it up again.
        await asyncio.sleep(5 * settings.job_poll_seconds)
        job = (await c.get(f"/api/v1/jobs/{accepted['job_id']}", headers=headers)).json()
    assert (document["status"], document["error_code"]) == ("failed", "corrupt_file")
    assert (job["status"], job["attempts"], job["error_code"]) == ("failed", 1, "corrupt_file")
    assert job["error"] == document["error"] and "damaged" in job["error"]
    failures = [
        record
        for i in range(2)
        for record in workers.events(i, "job.failed")
        if record["job_id"] == job["id"]
    ]
    assert len(failures) == 1


async def _kill_running(
    db: async_sessionmaker[AsyncSession], workers: Workers, kills: int, limit: float = 60
) -> Counter[str]:
    """SIGKILL the pool process running a job mid-document, `kills` times; per job, the kills
    that took effect (the job was still running under the killed process's lease)."""
    parents = {process.pid for process in workers.processes}
    killed: set[str] = set()
    effective: Counter[str] = Counter()
    deadline = time.monotonic() + limit
    while len(killed) < kills and time.monotonic() < deadline:
        candidates = [
            j
            for j in (await jobs(db)).values()
            if j.status == "running"
            and j.stage in ("extract", "embed")
            and j.lease_owner not in (None, *killed)
        ]
        if not candidates:
            await asyncio.sleep(0.02)
            continue
        job = candidates[0]
        owner = job.lease_owner or ""
        pid = int(owner.split(":")[1])
        if _parent_of(pid) not in parents:
            continue  # gone since the read (the job finished and its process moved on)
        os.kill(pid, signal.SIGKILL)
        killed.add(owner)
        await asyncio.sleep(0.3)
        after = (await jobs(db))[job.id]
        if after.status == "running" and after.lease_owner == owner:
            effective[job.id] += 1
    return effective


def _parent_of(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


async def test_sigkilled_pool_processes_still_index_exactly_once(
    settings: Settings, workers: Workers, tenant: Tenant, db: async_sessionmaker[AsyncSession]
) -> None:
    headers = tenant["paralegal"].headers
    paths = [
        FILINGS / "missouri.pdf",
        FILINGS / "word-docx.docx",
        *sorted(OPINIONS.glob("*.txt"))[8:10],
    ]
    async with running(create_app(settings)) as c:
        accepted = [await upload(c, headers, p.read_bytes(), p.name) for p in paths]
        kills = await _kill_running(db, workers, kills=3)
        assert sum(kills.values()) >= 2, f"workers were not caught mid-document: {kills}"
        done = [await wait_done(c, headers, a["document"]["id"], limit=120) for a in accepted]
    assert [d["status"] for d in done] == ["indexed"] * len(paths)
    rows = await jobs(db)
    for item, path in zip(accepted, paths, strict=True):
        job = rows[item["job_id"]]
        assert (job.status, job.attempts) == ("succeeded", 1 + kills[job.id])
        # As many chunks as a clean, uninterrupted run of the pipeline makes: none twice.
        data = path.read_bytes()
        clean = await asyncio.to_thread(run_pipeline, data, detect(data, path.name), Limits())
        assert await chunk_count(db, item["document"]["id"]) == len(clean.chunks)


async def test_redis_restart_during_bulk_ingest_loses_no_upload(
    settings: Settings,
    workers: Workers,
    broker: RedisServer,
    tenant: Tenant,
    db: async_sessionmaker[AsyncSession],
) -> None:
    headers = tenant["paralegal"].headers
    files = sorted(OPINIONS.glob("*.txt"))[10:22]
    async with running(create_app(settings)) as c:
        accepted = [await upload(c, headers, p.read_bytes(), p.name) for p in files[:8]]
        await asyncio.to_thread(broker.shutdown)
        # Accepted while the broker is away: recorded now, published once it is back.
        accepted += [await upload(c, headers, p.read_bytes(), p.name) for p in files[8:]]
        await asyncio.sleep(2)
        waiting = await jobs(db)
        assert {waiting[a["job_id"]].status for a in accepted[8:]} == {"queued"}
        await asyncio.to_thread(broker.start_again)
        done = [await wait_done(c, headers, a["document"]["id"], limit=120) for a in accepted]
    assert [d["status"] for d in done] == ["indexed"] * len(files)
    rows = await jobs(db)
    assert {j.status for j in rows.values()} == {"succeeded"}
    assert all(process.poll() is None for process in workers.processes)


async def test_a_workflow_resumes_after_its_worker_process_is_sigkilled(
    settings: Settings, workers: Workers, tenant: Tenant, db: async_sessionmaker[AsyncSession]
) -> None:
    """The pool process running an execution is killed while a step's model call runs: the
    execution resumes on a worker at that step, the finished one kept, and completes."""
    attorney = tenant["attorney"]
    async with running(create_app(settings)) as c:
        accepted = await upload(c, attorney.headers, OPINIONS_FIRST.read_bytes(), "opinion.txt")
        document_id = accepted["document"]["id"]
        assert (await wait_done(c, attorney.headers, document_id))["status"] == "indexed"
        made = await c.post(
            "/api/v1/workflows/templates",
            json={"name": "Brief", "category": "litigation", "definition": DEFINITION},
            headers=tenant.admin.headers,
        )
        started = await c.post(
            "/api/v1/workflows/executions",
            json={"template_id": made.json()["id"], "input": {"opinion": document_id}},
            headers=attorney.headers,
        )
        url = f"/api/v1/workflows/executions/{started.json()['id']}"
        parents = {process.pid for process in workers.processes}
        deadline = time.monotonic() + 120
        while True:
            steps = (await c.get(url, headers=attorney.headers)).json()["steps"]
            if steps[1]["status"] == "running":
                break
            assert time.monotonic() < deadline, steps
            await asyncio.sleep(0.02)
        [job] = [
            j
            for j in (await jobs(db)).values()
            if j.type == "run_workflow" and j.status == "running"
        ]
        pid = int((job.lease_owner or "").split(":")[1])
        assert _parent_of(pid) in parents
        os.kill(pid, signal.SIGKILL)
        # The resumed step asks the bundled model again, whose threads spin: on a machine
        # busy with other work that call alone has taken minutes.
        deadline = time.monotonic() + 300
        while (execution := (await c.get(url, headers=attorney.headers)).json())["status"] not in (
            "completed",
            "failed",
        ):
            assert time.monotonic() < deadline, execution
            await asyncio.sleep(0.3)
    assert execution["status"] == "completed", execution
    analysis, summary, report = execution["steps"]
    assert analysis["attempts"] == 1 and analysis["finished_at"] == steps[0]["finished_at"]
    assert summary["attempts"] == 2 and report["status"] == "succeeded"
    assert (await jobs(db))[job.id].attempts == 2


async def test_an_analysis_job_runs_on_a_worker(
    make_settings: SettingsFactory,
    broker: RedisServer,
    data_dir: Path,
    workers: Workers,
    tenant: Tenant,
) -> None:
    """A summary long enough to be a job (here: any model call) is run by a worker process,
    with the local model it opens there; asked again, it is the stored result."""
    settings = make_settings(
        data_dir=data_dir, redis_url=broker.url, analysis_inline_model_calls=0, **KNOBS
    )
    headers = tenant["attorney"].headers
    async with running(create_app(settings)) as c:
        accepted = await upload(c, headers, OPINIONS_FIRST.read_bytes(), "opinion-2.txt")
        document_id = accepted["document"]["id"]
        assert (await wait_done(c, headers, document_id))["status"] == "indexed"
        url = f"/api/v1/documents/{document_id}/summary"
        body = {"method": "abstractive", "length": "short"}
        queued = await c.post(url, json=body, headers=headers)
        assert queued.status_code == 202, queued.text
        job_id = queued.json()["job_id"]
        deadline = time.monotonic() + 180
        while (job := (await c.get(f"/api/v1/jobs/{job_id}", headers=headers)).json())[
            "status"
        ] not in ("succeeded", "failed"):
            assert time.monotonic() < deadline, job
            await asyncio.sleep(0.3)
        answered = await c.post(url, json=body, headers=headers)
    assert job["status"] == "succeeded", job
    assert answered.status_code == 200 and answered.json()["cached"] is True
    assert answered.json()["model"] == "local/SmolLM2-135M-Instruct.Q4_1"
    ran = [r for i in range(2) for r in workers.events(i, "job.succeeded") if r["job_id"] == job_id]
    assert len(ran) == 1
