"""Throughput and latency under concurrent users, against a bare FastAPI floor.

    .venv/bin/python benchmarks/load_test.py [--target embedded|distributed|both]
        [--scenarios reads,search,chat,uploads] [--users 50,200] [--seconds 15]
        [--spawn-rate 50] [--json PATH] [--quick]

Locust, used as a library (headless, in this process, on gevent), runs closed-loop users with
no think time against the service on 127.0.0.1; each scenario runs apart at each user count,
measured for `--seconds` once every user has started:
- reads: GET /documents/{id} of the few seed documents, with a bearer token;
- search: POST /search, keyword and hybrid mode;
- chat: a question in a conversation of the user's own (non-streaming; with the bundled model
  only, answers are extractive);
- uploads: POST /documents, a small text file with unique bytes each (no deduplication).
Uploads run last: the documents they add and the indexing they queue would change what the
other scenarios measure.

Targets: embedded — one `lexbase serve` process (SQLite, local blobs, embedded job runner);
distributed — tests/support/topology.py (PostgreSQL, Redis, moto S3, two replicas behind
nginx, two workers), used through nginx. Rate limits are off (LEXBASE_RATE_LIMIT_ENABLED=false);
access tokens come from a few sign-ins made up front (Argon2 makes sign-ins slow on purpose).

The floor of reads is a bare FastAPI app (`--serve-floor`) in one uvicorn process: the same
primary-key read of `documents`, the same database and driver (aiosqlite or asyncpg through
SQLAlchemy), no auth, no middleware. Locust shares the machine's cores with the servers; its
own CPU use is printed per run (near 1.0 core: the load generator was the limit).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import itertools
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for the topology harness in tests/support

if TYPE_CHECKING:
    from locust import FastHttpUser
    from tests.support.topology import Replica

API = "/api/v1"
LEXBASE = [sys.executable, "-m", "lexbase"]
PASSWORD = "Load-Test-Partner-2026"  # noqa: S105 - a throwaway benchmark account
SIGN_INS = 8
SCENARIOS = ("reads", "search", "chat", "uploads")
# Every server of a run: no request limits, tokens that outlive the longest run.
LOAD_ENV = {"LEXBASE_RATE_LIMIT_ENABLED": "false", "LEXBASE_ACCESS_TOKEN_MINUTES": "120"}
SEED = {
    "lease-memo.txt": "MEMORANDUM ON THE LEASE OF 12 HARBOUR STREET\n\nThe lessee shall pay rent "
    "of $4,250 on the first day of each month. Late payment accrues interest of 9% a year. Either "
    "party may terminate the lease on ninety days' written notice to the registered office.",
    "nda.txt": "MUTUAL NON-DISCLOSURE AGREEMENT\n\nEach party shall keep the other's Confidential "
    "Information secret and use it only to evaluate the proposed transaction. This Agreement is "
    "governed by the laws of the State of Delaware. Obligations survive for three years.",
    "services.txt": "MASTER SERVICES AGREEMENT\n\nThe Supplier's total liability under this "
    "Agreement shall not exceed the fees paid in the twelve months before the claim. The Supplier "
    "shall indemnify the Customer against third-party claims of infringement.",
    "employment.txt": "EMPLOYMENT AGREEMENT\n\nFor twelve months after employment ends, the "
    "Employee shall not solicit the Company's clients or work for a competitor within fifty "
    "miles. Either party may end employment on four weeks' notice.",
    "opinion.txt": "SUPREME COURT OF ARKANSAS\n\nSmith v. Jones, No. 86-112. The appellant relies "
    "on Roe v. Wade, 410 U.S. 113 (1973), but the question here is one of contract. We hold that "
    "the notice given was sufficient and affirm the judgment of the circuit court.",
    "settlement.txt": "SETTLEMENT AGREEMENT AND RELEASE\n\nThe Defendant shall pay $75,000 within "
    "thirty days. The Plaintiff releases all claims arising from the 2024 shipment. Neither party "
    "admits liability. Disputes go to arbitration in Chicago, Illinois.",
}
QUESTIONS = (
    "What interest accrues on late rent?",
    "Which law governs the non-disclosure agreement?",
    "How much notice ends the lease?",
    "What is the cap on the supplier's liability?",
    "Who indemnifies against infringement claims?",
    "How long does the non-solicitation last?",
    "What did the court hold about the notice?",
    "When is the settlement amount due?",
)


@dataclass
class Target:
    name: str
    description: str
    floor: str
    url: str
    floor_database_url: str
    service_pgids: list[int]


@dataclass
class Firm:
    tokens: list[str]
    document_ids: list[str]


@dataclass
class Row:
    target: str
    scenario: str
    endpoint: str
    users: int
    requests: int
    rps: float
    p50_ms: int
    p95_ms: int
    p99_ms: int
    failures: int
    locust_cpu: float  # cores used by this process (the load generator) during the run
    service_cpu: float  # cores used by the service's own processes
    machine_busy: float  # cores busy on the whole machine
    vs_floor: float | None = None
    errors: list[str] = field(default_factory=list)


# --- the floor ---------------------------------------------------------------------------


def serve_floor(database_url: str, port: int) -> None:
    """The bare read: FastAPI, one SQLAlchemy Core select by primary key, the row as JSON."""
    from collections.abc import AsyncIterator

    import uvicorn
    from fastapi import FastAPI, HTTPException
    from sqlalchemy import (
        JSON,
        BigInteger,
        Column,
        DateTime,
        Integer,
        MetaData,
        String,
        Table,
        select,
    )
    from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

    documents = Table(
        "documents",
        MetaData(),
        Column("id", String(36), primary_key=True),
        *(Column(name, String) for name in ("organization_id", "matter_id", "title", "filename")),
        *(Column(name, String) for name in ("content_type", "sha256", "status", "error")),
        Column("document_type", String),
        Column("size_bytes", BigInteger),
        Column("page_count", Integer),
        Column("tags", JSON),
        Column("metadata", JSON),
        Column("created_at", DateTime(timezone=True)),
        Column("indexed_at", DateTime(timezone=True)),
    )
    options: dict[str, Any] = {}
    if not database_url.startswith("sqlite"):
        # The service's pool on PostgreSQL (core/db.py), and its autocommit reads.
        options = {"pool_size": 10, "max_overflow": 10, "isolation_level": "AUTOCOMMIT"}

    engines: list[AsyncEngine] = []

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        engines.append(create_async_engine(database_url, **options))
        yield
        await engines.pop().dispose()

    app = FastAPI(lifespan=lifespan, openapi_url=None)

    @app.get("/health/ready")
    async def ready() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/documents/{document_id}")
    async def read(document_id: str) -> dict[str, Any]:
        async with engines[0].connect() as connection:
            statement = select(documents).where(documents.c.id == document_id)
            row = (await connection.execute(statement)).mappings().first()
        if row is None:
            raise HTTPException(status_code=404)
        return dict(row)

    uvicorn.run(
        app, host="127.0.0.1", port=port, log_level="warning", access_log=False, server_header=False
    )


@contextlib.contextmanager
def floor_server(database_url: str, workdir: Path) -> Iterator[Replica]:
    from tests.support.services import find_free_port
    from tests.support.topology import Replica

    port = find_free_port()
    argv = [sys.executable, __file__, "--serve-floor", database_url, "--port", str(port)]
    floor = Replica("floor", argv, dict(os.environ), workdir / "floor.log", port=port)
    floor.start()
    try:
        floor.wait_ready()
        yield floor
    finally:
        floor.stop()


# --- the targets -------------------------------------------------------------------------


def serve_environment(data_dir: Path, port: int) -> dict[str, str]:
    from tests.support.serve import inherited_environment

    inherited = inherited_environment()
    return {
        **inherited,
        "LEXBASE_ENV": "test",
        "LEXBASE_SECRET_KEY": secrets.token_urlsafe(48),
        "LEXBASE_DATA_DIR": str(data_dir),
        "LEXBASE_PORT": str(port),
        **LOAD_ENV,
    }


@contextlib.contextmanager
def embedded(workdir: Path) -> Iterator[Target]:
    from tests.support.services import find_free_port
    from tests.support.topology import Replica

    data_dir, port = workdir / "data", find_free_port()
    env = serve_environment(data_dir, port)
    migrated = subprocess.run(  # noqa: S603 - our own command line
        [*LEXBASE, "migrate"], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    if migrated.returncode != 0:
        raise RuntimeError(f"lexbase migrate failed:\n{migrated.stderr[-3000:]}")
    serve = Replica("serve", [*LEXBASE, "serve"], env, workdir / "serve.log", port=port)
    serve.start()
    try:
        serve.wait_ready()
        assert serve.popen is not None
        yield Target(
            "embedded",
            "one `lexbase serve` process: SQLite, local blobs, embedded job runner",
            "floor: the bare app in one uvicorn process on the same SQLite file (aiosqlite)",
            serve.url,
            f"sqlite+aiosqlite:///{data_dir / 'lexbase.db'}",
            [serve.popen.pid],
        )
    finally:
        serve.stop()


def serve_topology(workdir: Path) -> None:
    """Run tests/support/topology.py until standard input closes, its addresses written to
    workdir/topology.json. A process apart: the harness runs asyncio relays on threads, which
    the threads gevent patches in (locust) cannot host — and they would share locust's core."""
    from tests.support.services import (
        MotoServer,
        PostgresServer,
        RedisServer,
        start_moto,
        start_postgres,
        start_redis,
    )
    from tests.support.topology import topology

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # still stop what was started
    services = workdir / "services"
    services.mkdir()
    for path in (workdir, services):
        path.chmod(0o755)  # PostgreSQL runs as an unprivileged user when we are root
    started: list[PostgresServer | RedisServer | MotoServer] = []
    try:
        postgres = start_postgres(services)
        started.append(postgres)
        redis = start_redis(services)
        started.append(redis)
        s3 = start_moto(services)
        started.append(s3)
        # The bundled model only, as in the embedded mode: chat answers are extractive.
        extra = {**LOAD_ENV, "LEXBASE_LLM_PROVIDERS": "local"}
        with topology(workdir / "topology", postgres, redis, s3, extra_env=extra) as running:
            processes = [p.popen for p in [*running.replicas, *running.workers]]
            info = {
                "url": running.url,
                "database_url": postgres.url,
                "pids": [p.pid for p in processes if p is not None],
            }
            (workdir / "topology.json").write_text(json.dumps(info))
            sys.stdin.read()
    finally:
        for service in reversed(started):
            service.stop()


@contextlib.contextmanager
def distributed(workdir: Path) -> Iterator[Target]:
    log = workdir / "topology.log"
    with log.open("ab") as output:
        helper = subprocess.Popen(  # noqa: S603 - this file
            [sys.executable, __file__, "--serve-topology", str(workdir)],
            stdin=subprocess.PIPE,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 300
        while not (workdir / "topology.json").exists():
            if helper.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the topology did not start:\n{log.read_text()[-4000:]}")
            time.sleep(0.5)
        info = json.loads((workdir / "topology.json").read_text())
        yield Target(
            "distributed",
            "two `lexbase serve` replicas behind nginx, two workers; PostgreSQL, Redis, moto S3; "
            "chat with the bundled model only (LEXBASE_LLM_PROVIDERS=local)",
            "floor: the bare app in one uvicorn process on the same PostgreSQL (asyncpg), "
            "reached directly — no nginx, one process where the service has two",
            info["url"],
            info["database_url"],
            info["pids"],
        )
    finally:
        assert helper.stdin is not None
        helper.stdin.close()  # the helper stops the topology and its services
        try:
            helper.wait(timeout=180)
        except subprocess.TimeoutExpired:
            helper.terminate()
            helper.wait(timeout=60)


# --- the firm: tokens and seed documents ---------------------------------------------------


def prepare_firm(url: str) -> Firm:
    import httpx

    with httpx.Client(base_url=f"{url}{API}", timeout=60) as client:
        email = f"partner-{uuid.uuid4().hex[:8]}@loadtest.example"
        registered = client.post(
            "/auth/register",
            json={
                "email": email,
                "password": PASSWORD,
                "full_name": "Load Test Partner",
                "organization_name": "Load Test LLP",
            },
        )
        registered.raise_for_status()
        tokens = []
        for _ in range(SIGN_INS):
            login = client.post("/auth/login", json={"email": email, "password": PASSWORD})
            login.raise_for_status()
            tokens.append(login.json()["access_token"])
        headers = {"Authorization": f"Bearer {tokens[0]}"}
        ids = []
        for name, text in SEED.items():
            answer = client.post("/documents", headers=headers, files={"file": (name, text)})
            answer.raise_for_status()
            ids.append(answer.json()["document"]["id"])
        deadline = time.monotonic() + 300
        pending = set(ids)
        while pending:
            for document_id in list(pending):
                status = client.get(f"/documents/{document_id}", headers=headers).json()["status"]
                if status == "failed":
                    raise RuntimeError(f"seed document {document_id} failed to index")
                if status == "indexed":
                    pending.discard(document_id)
            if time.monotonic() > deadline:
                raise RuntimeError(f"seed documents not indexed in 300 s: {sorted(pending)}")
            time.sleep(0.2)
        return Firm(tokens, ids)


def backlog(url: str, token: str) -> int:
    """Jobs queued or running in the firm (indexing still owed for accepted uploads)."""
    import httpx

    headers = {"Authorization": f"Bearer {token}"}
    return sum(
        httpx.get(
            f"{url}{API}/jobs", params={"status": s, "limit": 1}, headers=headers, timeout=60
        ).json()["total"]
        for s in ("queued", "running")
    )


# --- the users ---------------------------------------------------------------------------


def user_class(scenario: str, firm: Firm, ready: list[int]) -> type[FastHttpUser]:
    """A locust user for `scenario`; `ready` counts users whose set-up is done."""
    from locust import FastHttpUser, constant, task

    tokens = itertools.cycle(firm.tokens)
    ids = firm.document_ids

    class Lexbase(FastHttpUser):
        abstract = True
        wait_time = constant(0)

        def on_start(self) -> None:
            self.headers = {"Authorization": f"Bearer {next(tokens)}"}
            self.turn = len(ready)  # users start on different documents and questions
            self.prepare()
            ready.append(1)

        def prepare(self) -> None:
            pass

        def next_item(self, items: tuple[str, ...] | list[str]) -> str:
            self.turn += 1
            return items[self.turn % len(items)]

    class Reads(Lexbase):
        @task
        def read(self) -> None:
            self.client.get(
                f"{API}/documents/{self.next_item(ids)}",
                headers=self.headers,
                name="GET /documents/{id}",
            )

    class FloorReads(Lexbase):
        @task
        def read(self) -> None:
            self.client.get(f"/documents/{self.next_item(ids)}", name="floor GET /documents/{id}")

    class Search(Lexbase):
        @task
        def keyword(self) -> None:
            self.search("keyword")

        @task
        def hybrid(self) -> None:
            self.search("hybrid")

        def search(self, mode: str) -> None:
            self.client.post(
                f"{API}/search",
                json={"query": self.next_item(QUESTIONS), "mode": mode, "limit": 10},
                headers=self.headers,
                name=f"POST /search {mode}",
            )

    class Chat(Lexbase):
        def prepare(self) -> None:
            created = self.client.post(
                f"{API}/conversations",
                json={"title": "Load test"},
                headers=self.headers,
                name="setup: POST /conversations",
            )
            self.conversation = created.json()["id"]

        @task
        def ask(self) -> None:
            self.client.post(
                f"{API}/conversations/{self.conversation}/messages",
                json={"content": self.next_item(QUESTIONS)},
                headers=self.headers,
                name="POST /conversations/{id}/messages",
            )

    class Uploads(Lexbase):
        @task
        def upload(self) -> None:
            mark = uuid.uuid4().hex
            text = f"FILE NOTE {mark}\n\nThe client called about invoice {mark[:8]}.\n"
            self.client.post(
                f"{API}/documents",
                files={"file": (f"note-{mark}.txt", text.encode(), "text/plain")},
                headers=self.headers,
                name="POST /documents",
            )

    classes: dict[str, type[FastHttpUser]] = {
        "floor": FloorReads,
        "reads": Reads,
        "search": Search,
        "chat": Chat,
        "uploads": Uploads,
    }
    return classes[scenario]


# --- one run -----------------------------------------------------------------------------


def cpu_jiffies(pgids: list[int]) -> int:
    """CPU time (user + system, in clock ticks) of every live process in these groups."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) in pgids:
                total += int(fields[11]) + int(fields[12])
    return total


def machine_jiffies() -> int:
    """Busy clock ticks of all CPUs since boot (all but idle and I/O wait)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    return sum(values) - values[3] - values[4]


def drive(
    host: str,
    cls: Callable[[list[int]], type[FastHttpUser]],
    users: int,
    seconds: float,
    spawn_rate: float,
    pgids: list[int],
) -> list[dict[str, Any]]:
    from locust.env import Environment

    ready: list[int] = []
    env = Environment(user_classes=[cls(ready)], host=host)
    runner = env.create_local_runner()
    tick = os.sysconf("SC_CLK_TCK")
    # time.sleep is gevent's once locust is imported: the users run while this one waits.
    try:
        runner.start(users, spawn_rate=spawn_rate)
        deadline = time.monotonic() + users / spawn_rate + 60
        while len(ready) < users and time.monotonic() < deadline:
            time.sleep(0.05)
        env.stats.reset_all()
        started, cpu, service, busy = (
            time.perf_counter(),
            time.process_time(),
            cpu_jiffies(pgids),
            machine_jiffies(),
        )
        time.sleep(seconds)
        elapsed = time.perf_counter() - started
        usage = {
            "locust_cpu": (time.process_time() - cpu) / elapsed,
            "service_cpu": (cpu_jiffies(pgids) - service) / tick / elapsed,
            "machine_busy": (machine_jiffies() - busy) / tick / elapsed,
        }
        entries = []
        for entry in env.stats.entries.values():
            if entry.num_requests == 0 or entry.name.startswith("setup"):
                continue
            errors = [
                f"{e.occurrences} x {e.error}"
                for e in env.stats.errors.values()
                if e.name == entry.name
            ]
            entries.append(
                {
                    "endpoint": entry.name,
                    "requests": entry.num_requests,
                    "rps": entry.num_requests / elapsed,
                    "p50_ms": entry.get_response_time_percentile(0.50),
                    "p95_ms": entry.get_response_time_percentile(0.95),
                    "p99_ms": entry.get_response_time_percentile(0.99),
                    "failures": entry.num_failures,
                    "errors": errors[:3],
                    **usage,
                }
            )
        if len(ready) < users:
            print(f"  note: only {len(ready)} of {users} users finished their set-up")
        return entries
    finally:
        runner.quit()


def run_target(
    target: Target,
    workdir: Path,
    scenarios: list[str],
    users_list: list[int],
    seconds: float,
    spawn_rate: float,
) -> tuple[list[Row], list[str]]:
    rows: list[Row] = []
    notes: list[str] = []
    firm = prepare_firm(target.url)
    with contextlib.ExitStack() as stack:
        floor = None
        if "reads" in scenarios:
            floor = stack.enter_context(floor_server(target.floor_database_url, workdir))
        plan = [(s, n) for s in scenarios for n in users_list]
        for index, (scenario, users) in enumerate(plan):
            legs = [(scenario, target.url, target.service_pgids)]
            if scenario == "reads" and floor is not None and floor.popen is not None:
                legs.insert(0, ("floor", floor.url, [floor.popen.pid]))
            runs: dict[str, list[Row]] = {}
            for leg, host, pgids in legs:
                print(f"  {target.name}: {leg}, {users} users, {seconds:g} s …", flush=True)
                make = functools.partial(user_class, leg, firm)
                entries = drive(host, make, users, seconds, spawn_rate, pgids)
                runs[leg] = [Row(target.name, scenario, users=users, **e) for e in entries]
            if "floor" in runs and runs["floor"] and runs["floor"][0].rps:
                for row in runs["reads"]:
                    row.vs_floor = row.rps / runs["floor"][0].rps
            rows.extend(row for leg_rows in runs.values() for row in leg_rows)
            if scenario == "uploads":
                notes.append(drain(target, firm, users, wait=index < len(plan) - 1))
    return rows, notes


def drain(target: Target, firm: Firm, users: int, *, wait: bool) -> str:
    """Report the indexing the uploads left queued; wait for it when another run follows."""
    owed = backlog(target.url, firm.tokens[0])
    if not wait or owed == 0:
        return f"uploads at {users} users left {owed} jobs queued or running"
    started = time.monotonic()
    while (left := backlog(target.url, firm.tokens[0])) and time.monotonic() - started < 180:
        time.sleep(1)
    outcome = f"{left} still owed" if left else "drained"
    return (
        f"uploads at {users} users left {owed} jobs queued or running; "
        f"{outcome} after {time.monotonic() - started:.0f} s"
    )


# --- output ------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "unknown",
    )
    return {"nproc": len(os.sched_getaffinity(0)), "cpu_model": model}


def table(target: Target, rows: list[Row], notes: list[str]) -> str:
    head = (
        f"{'scenario':9} {'endpoint':34} {'users':>5} {'requests':>8} {'req/s':>8} "
        f"{'p50':>6} {'p95':>6} {'p99':>6} {'fail':>6} {'vs floor':>8} "
        f"{'locust':>6} {'service':>7} {'machine':>7}"
    )
    lines = [f"\n{target.name} — {target.description}", target.floor, head, "-" * len(head)]
    for r in rows:
        ratio = f"{r.vs_floor:.2f}" if r.vs_floor is not None else ""
        lines.append(
            f"{r.scenario:9} {r.endpoint:34} {r.users:>5} {r.requests:>8} {r.rps:>8.1f} "
            f"{r.p50_ms:>6} {r.p95_ms:>6} {r.p99_ms:>6} {r.failures:>6} {ratio:>8} "
            f"{r.locust_cpu:>6.2f} {r.service_cpu:>7.2f} {r.machine_busy:>7.2f}"
        )
        lines.extend(f"{'':9} error: {e}" for e in r.errors)
    lines.extend(f"note: {n}" for n in notes)
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--target", choices=["embedded", "distributed", "both"], default="both")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--users", default="50,200")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--spawn-rate", type=float, default=50.0)
    parser.add_argument("--json", type=Path, help="also write the results here as JSON")
    parser.add_argument("--quick", action="store_true", help="5 s runs, 50 users only")
    parser.add_argument("--serve-floor", metavar="DATABASE_URL", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--serve-topology", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_floor:
        serve_floor(args.serve_floor, args.port)
        return
    if args.serve_topology:
        serve_topology(args.serve_topology)
        return

    import locust  # gevent patches the standard library here, before any socket is opened

    if args.quick:
        args.seconds, args.users = 5.0, "50"
    wanted = {s.strip() for s in args.scenarios.split(",") if s.strip()}
    if unknown := wanted - set(SCENARIOS):
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    scenarios = [s for s in SCENARIOS if s in wanted]
    users_list = [int(n) for n in args.users.split(",")]
    targets = ["embedded", "distributed"] if args.target == "both" else [args.target]
    os.environ.setdefault("LEXBASE_MODEL_DIR", str(ROOT / ".cache" / "models"))

    box = machine()
    header = [
        f"machine: {box['nproc']} cores (nproc), {box['cpu_model']}",
        f"load generator: locust {locust.__version__} (FastHttpUser, gevent) in this process, "
        "on the same cores as the servers",
        f"rate limits off (LEXBASE_RATE_LIMIT_ENABLED=false); {args.seconds:g} s per run once "
        f"all users started (spawn {args.spawn_rate:g}/s); closed loop, no think time; "
        f"{SIGN_INS} access tokens shared by the users",
        "columns: latencies in ms; locust / service / machine = CPU cores busy during the run "
        "(this process; the service's own processes; the whole machine)",
    ]
    print("\n".join(header), flush=True)
    report: dict[str, Any] = {
        "machine": box,
        "settings": {"seconds": args.seconds, "users": users_list, "spawn_rate": args.spawn_rate},
        "notes": header,
        "targets": {},
    }
    for name in targets:
        workdir = Path(tempfile.mkdtemp(prefix=f"lexbase-load-{name}-"))
        try:
            starter = embedded if name == "embedded" else distributed
            print(f"starting {name} …", flush=True)
            with starter(workdir) as target:
                rows, notes = run_target(
                    target, workdir, scenarios, users_list, args.seconds, args.spawn_rate
                )
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        print(table(target, rows, notes), flush=True)
        report["targets"][name] = {
            "description": target.description,
            "floor": target.floor,
            "runs": [asdict(r) for r in rows],
            "notes": notes,
        }
        if args.json:
            args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
