"""The distributed mode as deployed: two API replicas behind nginx, two Celery workers, each
on a data directory of its own, sharing PostgreSQL + pgvector, Redis and S3 (tests/support/
topology.py). The API is used through the proxy, then faults are made while work flows: a
replica and a worker SIGKILLed, PostgreSQL, Redis and S3 restarted. After each, no
accepted upload is lost, none is processed twice, and the API answered with a status and the
error envelope while a dependency was down — never hung — and recovered by itself."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from tests.documents.helpers import FILINGS
from tests.support.services import (
    MotoServer,
    PostgresServer,
    RedisServer,
    ServiceUnavailable,
    start_moto,
    start_postgres,
    start_redis,
)
from tests.support.topology import Topology, find_nginx, topology

pytestmark = pytest.mark.distributed
API = "/api/v1"
PASSWORD = "Distributed-Proof-2026"
# A request never waits longer than this for an answer, whatever is down.
ANSWER_WITHIN = 15.0


@pytest.fixture(scope="module")
def cluster(services_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    from tests.conftest import IN_CI

    started: list[PostgresServer | RedisServer | MotoServer] = []
    try:
        find_nginx()
        postgres = start_postgres(services_dir)
        started.append(postgres)
        redis = start_redis(services_dir)
        started.append(redis)
        s3 = start_moto(services_dir, journal=True)
        started.append(s3)
    except ServiceUnavailable as exc:
        for service in started:
            service.stop()
        if IN_CI:
            pytest.fail(f"the distributed tier needs {exc} (CI=true: a failure)", pytrace=False)
        pytest.skip(f"distributed tier unavailable: {exc}")
    try:
        with topology(tmp_path_factory.mktemp("topology"), postgres, redis, s3) as running:
            yield running
    finally:
        for service in started:
            service.stop()


@dataclass
class Firm:
    url: str
    headers: dict[str, str]
    token: str
    accepted: dict[str, str] = field(default_factory=dict)  # document id -> job id


def register(url: str, name: str) -> Firm:
    email = f"partner-{uuid.uuid4().hex[:8]}@{name}.example"
    created = httpx.post(
        f"{url}{API}/auth/register",
        json={
            "email": email,
            "password": PASSWORD,
            "full_name": f"{name} partner",
            "organization_name": f"{name} LLP",
        },
        timeout=30,
    )
    assert created.status_code == 201, created.text
    login = httpx.post(
        f"{url}{API}/auth/login", json={"email": email, "password": PASSWORD}, timeout=30
    )
    assert login.status_code == 200, login.text
    token = login.json()["access_token"]
    return Firm(url, {"Authorization": f"Bearer {token}"}, token)


def memo(n: int, topic: str) -> bytes:
    return (
        f"MEMORANDUM {topic.upper()} {n}\n\nThe lessee shall pay rent of ${n},250 on the first "
        f"day of each month for the {topic} premises; late payment accrues interest of "
        f"{n % 9 + 1}% a year. Notices go to the registered office.\n"
    ).encode()


def upload(
    firm: Firm, name: str, data: bytes, client: httpx.Client | None = None
) -> httpx.Response:
    post = (client or httpx).post
    response = post(
        f"{firm.url}{API}/documents",
        headers=firm.headers,
        files={"file": (name, data)},
        timeout=ANSWER_WITHIN,
    )
    if response.status_code == 202:
        body = response.json()
        firm.accepted[body["document"]["id"]] = body["job_id"]
    return response


def wait_all_done(firm: Firm, limit: float = 240) -> dict[str, dict[str, Any]]:
    """Every accepted document, once each is indexed or failed (bounded in time)."""
    deadline = time.monotonic() + limit
    done: dict[str, dict[str, Any]] = {}
    while True:
        for document_id in set(firm.accepted) - set(done):
            response = httpx.get(
                f"{firm.url}{API}/documents/{document_id}", headers=firm.headers, timeout=30
            )
            if response.status_code == 200 and response.json()["status"] in ("indexed", "failed"):
                done[document_id] = response.json()
        if len(done) == len(firm.accepted):
            return done
        pending = sorted(set(firm.accepted) - set(done))
        assert time.monotonic() < deadline, f"still processing after {limit}s: {pending}"
        time.sleep(0.5)


def assert_each_processed_once(cluster: Topology, firm: Firm) -> None:
    """Every accepted upload indexed; its job ran to success exactly once over all workers,
    and the document holds one set of chunks (no second run appended another)."""
    done = wait_all_done(firm)
    assert {d: doc["status"] for d, doc in done.items()} == dict.fromkeys(done, "indexed")
    runs = Counter(cluster.all_succeeded())
    for document_id, job_id in firm.accepted.items():
        assert runs[job_id] == 1, f"job {job_id} of {document_id} succeeded {runs[job_id]} times"
        job = httpx.get(f"{firm.url}{API}/jobs/{job_id}", headers=firm.headers, timeout=30).json()
        assert job["status"] == "succeeded"
        chunks = cluster.postgres.psql(
            f"SELECT count(*) FROM chunks WHERE document_id = '{document_id}'"  # noqa: S608
        )
        assert int(chunks) == job["result"]["chunks"] > 0


def assert_unavailable(response: httpx.Response) -> None:
    """A dependency is down: 503 with the envelope and a Retry-After — not a 500, not a hang."""
    assert response.status_code == 503, response.text
    error = response.json()["error"]
    assert error["code"] == "service_unavailable"
    assert error["request_id"]
    assert int(response.headers["Retry-After"]) > 0


def test_the_api_through_the_proxy_reaches_both_replicas(cluster: Topology) -> None:
    firm = register(cluster.url, "proxy")
    with httpx.Client(timeout=30) as client:
        for n in range(6):
            assert upload(firm, f"memo-{n}.txt", memo(n, "harbour"), client).status_code == 202
        upstreams = {
            client.get(f"{cluster.url}{API}/auth/me", headers=firm.headers).headers["X-Upstream"]
            for _ in range(6)
        }
    assert upstreams == {f"127.0.0.1:{r.port}" for r in cluster.replicas}
    assert_each_processed_once(cluster, firm)
    found = httpx.post(
        f"{cluster.url}{API}/search",
        headers=firm.headers,
        json={"query": "harbour premises rent", "mode": "hybrid"},
        timeout=30,
    )
    assert found.status_code == 200, found.text
    assert {hit["document_id"] for hit in found.json()["results"]} == set(firm.accepted)
    # Another firm, through the same proxy and replicas, sees none of it.
    other = register(cluster.url, "rival")
    for document_id in firm.accepted:
        response = httpx.get(f"{cluster.url}{API}/documents/{document_id}", headers=other.headers)
        assert response.status_code == 404


def test_events_reach_a_socket_on_one_replica_for_work_requested_through_the_other(
    cluster: Topology,
) -> None:
    first, second = cluster.replicas
    firm = register(first.url, "sockets")
    firm.url = second.url  # the upload goes through the other replica
    with connect(f"ws://127.0.0.1:{first.port}{API}/ws", open_timeout=10) as socket:
        socket.send(json.dumps({"type": "auth", "token": firm.token}))
        time.sleep(0.5)  # the socket is subscribed before the work starts
        accepted = upload(firm, "socket.txt", memo(1, "socket"))
        assert accepted.status_code == 202, accepted.text
        job_id = accepted.json()["job_id"]
        statuses = []
        deadline = time.monotonic() + 90
        while "succeeded" not in statuses:
            message = json.loads(socket.recv(timeout=max(deadline - time.monotonic(), 0.1)))
            if message["type"] == "job.progress" and message["data"]["job_id"] == job_id:
                statuses.append(message["data"]["status"])
    assert statuses[-1] == "succeeded"
    assert "running" in statuses  # published by the worker, relayed by the first replica


def test_a_replica_killed_mid_stream_loses_no_request_or_upload(cluster: Topology) -> None:
    firm = register(cluster.url, "killreplica")
    assert upload(firm, "seed.txt", memo(0, "seed")).status_code == 202
    seed = next(iter(firm.accepted))
    stop = threading.Event()
    reads: list[int] = []
    uploads: list[int] = []

    def read_stream() -> None:
        with httpx.Client(timeout=ANSWER_WITHIN) as client:
            while not stop.is_set():
                response = client.get(f"{cluster.url}{API}/documents/{seed}", headers=firm.headers)
                reads.append(response.status_code)

    def upload_stream() -> None:
        with httpx.Client(timeout=ANSWER_WITHIN) as client:
            n = 0
            while not stop.is_set():
                n += 1
                uploads.append(
                    upload(firm, f"during-{n}.txt", memo(n, "during"), client).status_code
                )

    with ThreadPoolExecutor(2) as pool:
        running = [pool.submit(read_stream), pool.submit(upload_stream)]
        time.sleep(1.5)
        victim = cluster.replicas[0]
        victim.kill()
        time.sleep(3)
        stop.set()
        for future in running:
            future.result()
    # Reads were passed to the surviving replica: none failed.
    assert reads and set(reads) == {200}, Counter(reads)
    # An upload in flight on the killed replica may get 502 from the proxy (a POST is not
    # replayed once sent); every upload the API accepted is processed, once.
    assert set(uploads) <= {202, 502}, Counter(uploads)
    assert uploads.count(202) >= 3
    victim.start()
    victim.wait_ready()
    assert_each_processed_once(cluster, firm)
    with httpx.Client(timeout=30) as client:
        upstreams = {
            client.get(f"{cluster.url}{API}/auth/me", headers=firm.headers).headers["X-Upstream"]
            for _ in range(8)
        }
    assert f"127.0.0.1:{victim.port}" in upstreams  # back in rotation by itself


def test_a_worker_killed_mid_document_loses_nothing(cluster: Topology) -> None:
    firm = register(cluster.url, "killworker")
    scan = (FILINGS / "image-pdf.pdf").read_bytes()  # OCR: seconds of work
    assert upload(firm, "scan.pdf", scan).status_code == 202
    scan_job = next(iter(firm.accepted.values()))
    for n in range(4):
        assert upload(firm, f"note-{n}.txt", memo(n, "worker")).status_code == 202
    # Wait until a worker holds the scan's job, then SIGKILL that worker (pool and all).
    deadline = time.monotonic() + 60
    while True:
        owner = cluster.postgres.psql(
            f"SELECT lease_owner FROM jobs WHERE id = '{scan_job}' AND status = 'running'"  # noqa: S608
        )
        if owner:
            break
        assert time.monotonic() < deadline, "the scan's job never started"
        time.sleep(0.1)
    pid = int(owner.split(":")[1])
    holder = next(w for w in cluster.workers if w.popen is not None and _in_group(pid, w.popen.pid))
    holder.kill()
    holder.start()
    holder.wait_ready()
    assert_each_processed_once(cluster, firm)
    attempts = httpx.get(f"{cluster.url}{API}/jobs/{scan_job}", headers=firm.headers).json()
    assert attempts["attempts"] >= 2  # it was running when its worker died, and ran again


def _in_group(pid: int, group: int) -> bool:
    import os

    try:
        return os.getpgid(pid) == group
    except ProcessLookupError:
        return False


def test_dependencies_restarted_during_a_bulk_ingest(cluster: Topology) -> None:
    firm = register(cluster.url, "bulk")
    answers: list[int] = []
    sent: dict[str, bytes] = {}
    stop = threading.Event()

    def ingest() -> None:
        with httpx.Client(timeout=ANSWER_WITHIN) as client:
            n = 0
            while not stop.is_set():
                n += 1
                started = time.monotonic()
                response = upload(firm, f"bulk-{n}.txt", memo(n, "bulk"), client)
                assert time.monotonic() - started < ANSWER_WITHIN
                if response.status_code == 202:
                    sent[response.json()["document"]["id"]] = memo(n, "bulk")
                else:
                    assert_unavailable(response)
                answers.append(response.status_code)
                time.sleep(0.05)

    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(ingest)
        time.sleep(1)
        # PostgreSQL: stopped, asked while down, started again.
        cluster.postgres.stop_server()
        started = time.monotonic()
        down = httpx.get(f"{cluster.url}{API}/documents", headers=firm.headers, timeout=30)
        assert time.monotonic() - started < ANSWER_WITHIN
        assert_unavailable(down)
        ready = httpx.get(f"{cluster.replicas[0].url}/health/ready", timeout=30)
        assert ready.status_code == 503
        assert ready.json()["checks"]["database"]["status"] == "down"
        time.sleep(1)
        cluster.postgres.start_server()
        time.sleep(2)
        # Redis: shut down and started again (broker, events, rate limits).
        cluster.redis.shutdown()
        ready = httpx.get(f"{cluster.replicas[1].url}/health/ready", timeout=30)
        assert ready.status_code == 503
        assert ready.json()["checks"]["redis"]["status"] == "down"
        time.sleep(2)
        cluster.redis.start_again()
        time.sleep(2)
        # S3: the server is killed, asked while down, started again from its journal (the gate
        # holds connections off while the journal replays, as a server still starting would).
        cluster.s3.kill()
        refused = upload(firm, "while-s3-is-down.txt", memo(99, "refused"))
        assert_unavailable(refused)
        time.sleep(2)
        cluster.s3_gate.close()
        cluster.s3.start_again()
        cluster.s3_gate.open()
        time.sleep(2)
        stop.set()
        running.result()
    assert answers.count(202) >= 5, Counter(answers)
    # Every upload that was accepted is indexed, once, and its original bytes are served
    # (those stored before S3 was killed came back with it); the API is whole again.
    assert_each_processed_once(cluster, firm)
    for document_id, data in sent.items():
        original = httpx.get(
            f"{firm.url}{API}/documents/{document_id}/file", headers=firm.headers, timeout=30
        )
        assert original.status_code == 200, original.text
        assert original.content == data
    for replica in cluster.replicas:
        assert httpx.get(f"{replica.url}/health/ready", timeout=30).status_code == 200


def ask(firm: Firm, conversation: str, question: str) -> tuple[dict[str, Any], float]:
    started = time.monotonic()
    response = httpx.post(
        f"{firm.url}{API}/conversations/{conversation}/messages",
        headers=firm.headers,
        json={"content": question},
        timeout=60,
    )
    assert response.status_code in (200, 201), response.text
    return response.json()["message"], time.monotonic() - started


def test_chat_falls_back_when_the_model_is_slow_then_unreachable(cluster: Topology) -> None:
    firm = register(cluster.url, "chat")
    text = memo(7, "orchard")
    assert upload(firm, "orchard.txt", text).status_code == 202
    assert_each_processed_once(cluster, firm)
    created = httpx.post(f"{cluster.url}{API}/conversations", headers=firm.headers, json={})
    assert created.status_code == 201, created.text
    conversation = created.json()["id"]
    question = "What rent does the lessee pay for the orchard premises?"
    model = cluster.model.server
    assert model is not None
    model.answer = "The lessee pays rent of $7,250 on the first day of each month [1]."
    model.delay = 0.0
    answered, _ = ask(firm, conversation, question)
    assert answered["mode"] == "generated"
    assert "$7,250" in answered["content"]
    # Slow: every call outlasts the timeout (2 s). The answer comes from the documents, in
    # bounded time, with its quotes checked against the text.
    model.delay = 6.0
    slow, seconds = ask(firm, conversation, question)
    assert slow["mode"] == "extractive"
    assert seconds < ANSWER_WITHIN
    assert slow["citations"]
    assert all(c["quote"] in text.decode() for c in slow["citations"])
    # Unreachable: connections refused. The same fallback, at once.
    model.delay = 0.0
    cluster.model_gate.close()
    try:
        gone, seconds = ask(firm, conversation, question)
        assert gone["mode"] == "extractive"
        assert seconds < ANSWER_WITHIN
    finally:
        cluster.model_gate.open()
    # Back: once the breaker's cooldown (1 s) is over, the model answers again by itself.
    deadline = time.monotonic() + 30
    while True:
        time.sleep(1.5)
        again, _ = ask(firm, conversation, question)
        if again["mode"] == "generated":
            break
        assert time.monotonic() < deadline, "the model was never asked again"


def test_a_full_temp_disk_on_the_workers_loses_no_upload(cluster: Topology, tmp_path: Path) -> None:
    import os
    import subprocess

    if os.geteuid() != 0:
        from tests.conftest import IN_CI

        message = "mounting a small tmpfs needs root"
        if IN_CI:
            pytest.fail(f"{message} (CI runs as root: a failure)", pytrace=False)
        pytest.skip(message)
    full = tmp_path / "tmp"
    full.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(full)], check=True)
    try:
        with (full / "filler").open("wb") as filler:
            try:
                while True:
                    filler.write(b"\0" * 65536)
                    filler.flush()
            except OSError:
                pass  # ENOSPC: the disk is full
        for worker in cluster.workers:
            worker.stop()
            worker.env = worker.env | {"TMPDIR": str(full)}
            worker.start()
        for worker in cluster.workers:
            worker.wait_ready()
        firm = register(cluster.url, "fulldisk")
        for n in range(4):
            assert upload(firm, f"full-{n}.txt", memo(n, "full")).status_code == 202
        scan = (FILINGS / "image-pdf.pdf").read_bytes()
        assert upload(firm, "scan.pdf", scan).status_code == 202
        assert_each_processed_once(cluster, firm)
    finally:
        for worker in cluster.workers:
            worker.stop()
            worker.env = {k: v for k, v in worker.env.items() if k != "TMPDIR"}
        subprocess.run(["umount", "-l", str(full)], check=False)
        for worker in cluster.workers:
            worker.start()
        for worker in cluster.workers:
            worker.wait_ready()
