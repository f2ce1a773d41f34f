"""The distributed mode as a firm's IT would run it, on 127.0.0.1 without containers:
PostgreSQL + pgvector, Redis and an S3-compatible server (moto) shared by two `lexbase serve`
replicas behind nginx and two `lexbase worker` processes, each replica and worker with a data
directory of its own. Every part is a real process that a test can kill, restart or cut off.

S3 is reached through a `FaultGate` (a TCP relay a test can close and reopen). moto keeps its
objects in memory; started with a journal (its request recorder) it can be SIGKILLed and started
again with its objects replayed, and the gate stays closed while it replays, so the replicas and
workers see a server that went away and came back whole.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.support.serve import LEXBASE, inherited_environment
from tests.support.services import (
    MotoServer,
    PostgresServer,
    RedisServer,
    ServiceUnavailable,
    find_free_port,
)

TEST_SECRET = "lexbase-tests-9f2c4e7a1b3d5f60718293a4b5c6d7e8"
BUCKET = "lexbase-topology"

# Short leases and polls, so work a killed process held comes back within seconds.
KNOBS = {
    "LEXBASE_JOB_BACKEND": "celery",
    "LEXBASE_JOB_LEASE_SECONDS": "4",
    "LEXBASE_JOB_POLL_SECONDS": "0.3",
    "LEXBASE_JOB_RETRY_BASE_SECONDS": "0.5",
    "LEXBASE_JOB_MAX_ATTEMPTS": "8",
    "LEXBASE_CELERY_CONCURRENCY": "1",
    "LEXBASE_DATABASE_CONNECT_TIMEOUT_SECONDS": "2",
    "LEXBASE_READY_TIMEOUT_SECONDS": "2",
}


def find_nginx() -> str:
    for candidate in (shutil.which("nginx"), "/usr/sbin/nginx"):
        if candidate and Path(candidate).exists():
            return candidate
    raise ServiceUnavailable("nginx is not installed (Debian package nginx-light or nginx)")


@dataclass
class Process:
    """One `lexbase` (or nginx) process in its own session, its output in `log`."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as output:
            self.popen = subprocess.Popen(
                self.argv,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL the process and everything it started (no shutdown of any kind)."""
        if self.popen is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=30)

    def stop(self) -> int | None:
        """SIGTERM and wait; SIGKILL if it does not stop in time (then None)."""
        if self.popen is None or self.popen.poll() is not None:
            return None if self.popen is None else self.popen.returncode
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            return self.popen.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def events(self, event: str) -> list[dict[str, Any]]:
        found = []
        for line in self.log.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                with contextlib.suppress(ValueError):
                    record = json.loads(line)
                    if record.get("event") == event:
                        found.append(record)
        return found

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:]


@dataclass
class Replica(Process):
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, limit: float = 120) -> None:
        deadline = time.monotonic() + limit
        while True:
            assert self.alive, f"{self.name} exited:\n{self.tail()}"
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{self.url}/health/ready", timeout=2).status_code == 200:
                    return
            assert time.monotonic() < deadline, f"{self.name} never ready:\n{self.tail()}"
            time.sleep(0.2)


@dataclass
class Worker(Process):
    readied: int = 0  # "worker.ready" lines in the log before the latest start

    def start(self) -> None:
        self.readied = len(self.events("worker.ready")) if self.log.exists() else 0
        super().start()

    def wait_ready(self, limit: float = 120) -> None:
        deadline = time.monotonic() + limit
        while len(self.events("worker.ready")) <= self.readied:
            assert self.alive, f"{self.name} exited:\n{self.tail()}"
            assert time.monotonic() < deadline, f"{self.name} never ready:\n{self.tail()}"
            time.sleep(0.1)

    def succeeded(self) -> list[str]:
        """Ids of the jobs this worker's log says it ran to success."""
        return [e["job_id"] for e in self.events("job.succeeded")]


class FaultGate:
    """A TCP relay on 127.0.0.1 in front of a service: `close()` drops every connection and
    refuses new ones until `open()`, as a service that went away and came back would."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = find_free_port()
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.base_events.Server | None = None
        self._links: set[asyncio.StreamWriter] = set()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.open()

    def _call(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=10)

    def open(self) -> None:
        self._call(self._open())

    def close(self) -> None:
        self._call(self._close())

    def shutdown(self) -> None:
        self.close()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    async def _open(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)

    async def _close(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for writer in list(self._links):
            writer.transport.abort()
        self._links.clear()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(
                "127.0.0.1", self.target_port
            )
        except OSError:
            writer.transport.abort()
            return
        self._links.update((writer, upstream_writer))

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except OSError:
                pass
            finally:
                sink.close()

        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))
        self._links.discard(writer)
        self._links.discard(upstream_writer)


@dataclass
class Nginx:
    """nginx as the reverse proxy of the replicas (round robin, WebSocket upgrades; a replica
    that refuses connections is skipped — requests not yet sent are passed to the other)."""

    directory: Path
    upstreams: list[int]
    port: int = field(default_factory=find_free_port)
    popen: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def config(self) -> str:
        servers = "\n".join(
            f"        server 127.0.0.1:{port} max_fails=1 fail_timeout=2s;"
            for port in self.upstreams
        )
        temp = self.directory / "temp"
        user = "user root root;" if os.geteuid() == 0 else ""
        return f"""
{user}
worker_processes 1;
daemon off;
pid {self.directory}/nginx.pid;
error_log {self.directory}/error.log warn;
events {{ worker_connections 2048; }}
http {{
    access_log {self.directory}/access.log;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    client_max_body_size 64m;
    map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
    upstream lexbase {{
{servers}
        keepalive 32;
    }}
    server {{
        listen 127.0.0.1:{self.port};
        location / {{
            proxy_pass http://lexbase;
            proxy_http_version 1.1;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_connect_timeout 2s;
            proxy_read_timeout 120s;
            proxy_next_upstream error timeout;
            proxy_next_upstream_tries 2;
            add_header X-Upstream $upstream_addr always;
        }}
    }}
}}
"""

    def start(self) -> None:
        (self.directory / "temp").mkdir(parents=True, exist_ok=True)
        conf = self.directory / "nginx.conf"
        conf.write_text(self.config())
        with (self.directory / "nginx.out").open("ab") as output:
            self.popen = subprocess.Popen(
                [find_nginx(), "-c", str(conf), "-p", str(self.directory)],
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 20
        while True:
            assert self.popen.poll() is None, (self.directory / "nginx.out").read_text()
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5),
            ):
                return
            assert time.monotonic() < deadline, "nginx did not listen"
            time.sleep(0.05)

    def stop(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=10)


@dataclass
class Topology:
    directory: Path
    postgres: PostgresServer
    redis: RedisServer
    s3: MotoServer
    s3_gate: FaultGate
    replicas: list[Replica]
    workers: list[Worker]
    proxy: Nginx
    model: ThreadedReplay
    model_gate: FaultGate
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.proxy.url

    def stop(self) -> list[int | None]:
        self.proxy.stop()
        codes = [process.stop() for process in [*self.replicas, *self.workers]]
        self.s3_gate.shutdown()
        self.model_gate.shutdown()
        self.model.stop()
        return codes

    def blob_settings(self) -> dict[str, Any]:
        """The Settings fields that reach the tier's S3 store (what its processes are given)."""
        return {
            "blob_backend": "s3",
            "s3_bucket": BUCKET,
            "s3_endpoint_url": f"http://127.0.0.1:{self.s3_gate.port}",
            "s3_access_key_id": "testing",
            "s3_secret_access_key": "testing",
        }

    def all_succeeded(self) -> list[str]:
        return [job for worker in self.workers for job in worker.succeeded()]


def environment(
    directory: Path,
    postgres: PostgresServer,
    redis: RedisServer,
    s3_url: str,
    extra: dict[str, str],
) -> dict[str, str]:
    inherited = inherited_environment()
    return {
        **inherited,
        "LEXBASE_ENV": "test",
        "LEXBASE_SECRET_KEY": TEST_SECRET,
        "LEXBASE_DATA_DIR": str(directory),
        "LEXBASE_DATABASE_URL": postgres.url,
        "LEXBASE_REDIS_URL": redis.url,
        "LEXBASE_BLOB_BACKEND": "s3",
        "LEXBASE_S3_BUCKET": BUCKET,
        "LEXBASE_S3_ENDPOINT_URL": s3_url,
        "LEXBASE_S3_ACCESS_KEY_ID": "testing",
        "LEXBASE_S3_SECRET_ACCESS_KEY": "testing",
        "LEXBASE_S3_CREATE_BUCKET": "true",
        "LEXBASE_LOG_JSON": "true",
        "LEXBASE_TRUSTED_PROXIES": "127.0.0.1/32",
        **KNOBS,
        **extra,
    }


def start_topology(
    directory: Path,
    postgres: PostgresServer,
    redis: RedisServer,
    s3: MotoServer,
    *,
    extra_env: dict[str, str] | None = None,
) -> Topology:
    """Migrate, then start two replicas, two workers and the proxy; wait until all serve."""
    gate = FaultGate(s3.port)
    s3_url = f"http://127.0.0.1:{gate.port}"
    # The hosted model every replica asks (Anthropic's API shapes), behind a gate of its own.
    model = ThreadedReplay()
    model_gate = FaultGate(model.port)
    extra = {
        "LEXBASE_LLM_PROVIDERS": "anthropic",
        "LEXBASE_LLM_ANTHROPIC_BASE_URL": f"http://127.0.0.1:{model_gate.port}",
        "LEXBASE_LLM_ANTHROPIC_API_KEY": "sk-ant-topology",
        "LEXBASE_LLM_TIMEOUT_SECONDS": "2",
        "LEXBASE_LLM_RETRIES": "0",
        "LEXBASE_LLM_CIRCUIT_COOLDOWN_SECONDS": "1",
        **(extra_env or {}),
    }

    def env(name: str, **more: str) -> dict[str, str]:
        data = directory / name
        data.mkdir(parents=True, exist_ok=True)
        return environment(data, postgres, redis, s3_url, extra) | more

    migrated = subprocess.run(
        [*LEXBASE, "migrate"],
        env=env("migrate"),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    replicas = []
    for index in range(2):
        port = find_free_port()
        name = f"api-{index}"
        replicas.append(
            Replica(
                name,
                [*LEXBASE, "serve"],
                env(name, LEXBASE_PORT=str(port)),
                directory / f"{name}.log",
                port=port,
            )
        )
    workers = [
        Worker(
            f"worker-{index}",
            [*LEXBASE, "worker", "--name", f"w{index}@topology"],
            env(f"worker-{index}"),
            directory / f"worker-{index}.log",
        )
        for index in range(2)
    ]
    for process in [*replicas, *workers]:
        process.start()
    for process in [*replicas, *workers]:
        process.wait_ready()
    proxy = Nginx(directory / "nginx", [r.port for r in replicas])
    proxy.start()
    return Topology(
        directory, postgres, redis, s3, gate, replicas, workers, proxy, model, model_gate, extra
    )


@contextlib.contextmanager
def topology(
    directory: Path,
    postgres: PostgresServer,
    redis: RedisServer,
    s3: MotoServer,
    **options: Any,
) -> Iterator[Topology]:
    started = start_topology(directory, postgres, redis, s3, **options)
    try:
        yield started
    finally:
        started.stop()


class ThreadedReplay:
    """The recorded-shapes model server (tests/support/replay.py) on a thread of its own, for
    processes outside the test's event loop: `server` is its `Replay` (answers, delays)."""

    def __init__(self) -> None:
        from tests.support.replay import Replay, replay_server

        self.server: Replay | None = None
        self.url = ""
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None

        async def serve() -> None:
            self._stop = asyncio.Event()
            async with replay_server() as (server, url):
                self.server, self.url = server, url
                self._ready.set()
                await self._stop.wait()

        self._thread = threading.Thread(
            target=lambda: self._loop.run_until_complete(serve()), daemon=True
        )
        self._thread.start()
        if not self._ready.wait(timeout=20):
            raise ServiceUnavailable("the replay model server did not start")

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def stop(self) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=10)
