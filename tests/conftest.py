"""Test tiers and fixtures.

Every API test runs twice: on SQLite (a fresh copy of a migrated template file per test) and on
a real PostgreSQL + pgvector server started for the run. Tests commit for real, exactly as the
service does (background jobs use their own sessions, which a wrapping rollback could not see);
isolation comes from a fresh SQLite file or from truncating every table after each test.

Outside CI a missing PostgreSQL or Redis skips that tier with a loud notice; with CI=true it fails.

The API tests (those that talk to the service through the `client` fixture) run their PostgreSQL
variant against the distributed tier instead of an app in the test's process: two `lexbase serve`
replicas behind nginx, two Celery workers, Redis and S3 (tests/support/topology.py), on a
database of their own in the run's PostgreSQL; each request goes over HTTP through the proxy.
`--in-process` keeps every test in this process; `--through-proxy` runs only the API tests through
the proxy and the tier's fault tests (tests/distributed): `make test-distributed`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from lexbase.app import create_app
from lexbase.core.config import Environment, Settings
from lexbase.core.logging import configure_logging
from lexbase.core.migrate import upgrade
from lexbase.models import Base
from tests.support.services import (
    MotoServer,
    PostgresServer,
    RedisServer,
    ServiceUnavailable,
    start_moto,
    start_postgres,
    start_redis,
)

if TYPE_CHECKING:
    from tests.support.topology import Topology

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

configure_logging("INFO", json=True)
# Models derived on this machine (the distilled embedder) are made once and shared by every
# test, app and subprocess of the run — and by later runs in the same checkout.
MODEL_DIR = Path(__file__).resolve().parents[1] / ".cache" / "models"
os.environ.setdefault("LEXBASE_MODEL_DIR", str(MODEL_DIR))
TEST_SECRET = "lexbase-tests-9f2c4e7a1b3d5f60718293a4b5c6d7e8"
TIER_DATABASE = "lexbase_tier"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--through-proxy",
        action="store_true",
        help="run only the API tests through the distributed tier's proxy, and its fault tests",
    )
    parser.addoption(
        "--in-process",
        action="store_true",
        help="run the API tests' PostgreSQL variant in this process, not through the tier",
    )


def proxied(node: pytest.Item) -> bool:
    """Whether this test's requests go through the distributed tier's proxy: the PostgreSQL
    variant of an API test, unless it needs the app in this process."""
    if node.config.getoption("--in-process") and not node.config.getoption("--through-proxy"):
        return False
    callspec = getattr(node, "callspec", None)
    backend = callspec.params.get("backend") if callspec is not None else None
    return (
        "client" in getattr(node, "fixturenames", ())
        and backend == "postgres"
        and node.get_closest_marker("in_process") is None
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`--through-proxy`: the distributed tier's own tests and the API tests, once each,
    through the tier."""
    if not config.getoption("--through-proxy"):
        return

    def tier_test(item: pytest.Item) -> bool:
        return proxied(item) or item.get_closest_marker("distributed") is not None

    config.hook.pytest_deselected(items=[item for item in items if not tier_test(item)])
    items[:] = [item for item in items if tier_test(item)]


def _unavailable(what: str, exc: Exception) -> None:
    message = f"{what} is not available: {exc}"
    if IN_CI:
        pytest.fail(f"{message} (CI=true: a missing service is a failure)", pytrace=False)
    warnings.warn(f"SKIPPING the {what} tier — {message}", stacklevel=2)
    pytest.skip(f"{what} unavailable: {exc}")


@pytest.fixture(scope="session", autouse=True)
def embedding_model() -> None:
    """Distil the default embedder before any test times an ingest (≈ 1 minute, once)."""
    from lexbase.providers.embedders.static import ensure_distilled

    ensure_distilled(Path(os.environ["LEXBASE_MODEL_DIR"]))


@pytest.fixture(scope="session")
def services_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="lexbase-services-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server(services_dir: Path) -> Iterator[PostgresServer]:
    try:
        server = start_postgres(services_dir)
    except ServiceUnavailable as exc:
        _unavailable("PostgreSQL", exc)
    try:
        upgrade(Settings(env=Environment.TEST, database_url=server.url, secret_key=TEST_SECRET))
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis_server(services_dir: Path) -> Iterator[RedisServer]:
    try:
        server = start_redis(services_dir)
    except ServiceUnavailable as exc:
        _unavailable("Redis", exc)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite database that each test copies instead of migrating again."""
    data_dir = tmp_path_factory.mktemp("sqlite-template")
    upgrade(Settings(env=Environment.TEST, data_dir=data_dir, secret_key=TEST_SECRET))
    return data_dir / "lexbase.db"


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def _wait_idle(url: str, limit: float = 60.0) -> None:
    """Until no job is queued or running (bounded): the work a test started is over."""
    engine = create_async_engine(url)
    deadline = time.monotonic() + limit
    try:
        while time.monotonic() < deadline:
            async with engine.connect() as conn:
                busy = await conn.scalar(
                    text("SELECT count(*) FROM jobs WHERE status IN ('queued', 'running')")
                )
            if not busy:
                return
            await asyncio.sleep(0.2)
    finally:
        await engine.dispose()


async def _truncate_all(url: str) -> None:
    engine = create_async_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    try:
        for attempt in range(5):
            try:
                async with engine.begin() as conn:
                    await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
                return
            except DBAPIError as exc:
                # Another process of the tier (a sweeper, a worker's last write) locked a
                # table in the other order: PostgreSQL picked this side; once more.
                if "deadlock" not in str(exc) or attempt == 4:
                    raise
                await asyncio.sleep(0.2)
    finally:
        await engine.dispose()


@pytest.fixture
async def database_url(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[str]:
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "data" / "lexbase.db"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(template, target)
        yield f"sqlite+aiosqlite:///{target}"
        return
    if proxied(request.node):
        tier: Topology = request.getfixturevalue("proxy_tier")
        try:
            yield tier.postgres.url
        finally:
            await _wait_idle(tier.postgres.url)  # the tier's workers may still be writing
            await _truncate_all(tier.postgres.url)
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    try:
        yield server.url
    finally:
        await _truncate_all(server.url)


SettingsFactory = Callable[..., Settings]


@pytest.fixture
def make_settings(
    database_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> SettingsFactory:
    # Through the proxy, what a test writes for the service (blobs) goes where the tier's
    # processes read it.
    tier: dict[str, Any] = {}
    if proxied(request.node):
        tier = request.getfixturevalue("proxy_tier").blob_settings()

    def factory(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "env": Environment.TEST,
            "data_dir": tmp_path / "data",
            "database_url": database_url,
            "secret_key": TEST_SECRET,
            "log_json": True,
            # Tests start worker processes only when a job needs them (one app per test), and
            # one is enough for a test's few documents: each started process costs seconds.
            "worker_warm_up": False,
            "worker_processes": 1,
            # Analyses use the rules alone unless a test asks for the model's fields (seconds
            # a call on this CPU); tests/intelligence/test_model_fields.py does.
            "analysis_model_fields": "off",
            **tier,
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)

    return factory


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Run the app's real lifespan and talk to it over ASGI."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


@pytest.fixture
async def client(
    make_settings: SettingsFactory, request: pytest.FixtureRequest
) -> AsyncIterator[httpx.AsyncClient]:
    if proxied(request.node):
        tier: Topology = request.getfixturevalue("proxy_tier")
        forget_rate_limits(tier.redis.url)
        async with httpx.AsyncClient(base_url=tier.url, timeout=60) as c:
            yield c
        return
    async with running(create_app(make_settings())) as c:
        yield c


@pytest.fixture(scope="session")
def proxy_tier(
    postgres_server: PostgresServer, services_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Topology]:
    """The distributed tier the API tests reach through its proxy: a database of its own in the
    run's PostgreSQL (the in-process tests' jobs are not its workers' business), its own Redis
    (tests flush theirs) and S3 server. Tests write their tenants to its database."""
    from tests.support.topology import find_nginx, topology

    postgres_server.psql(f"CREATE DATABASE {TIER_DATABASE}")
    database = dataclasses.replace(
        postgres_server,
        url=postgres_server.url.rsplit("/", 1)[0] + f"/{TIER_DATABASE}",
        database=TIER_DATABASE,
    )
    started: list[RedisServer | MotoServer] = []
    try:
        find_nginx()
        started.append(start_redis(services_dir))
        started.append(start_moto(services_dir))
    except ServiceUnavailable as exc:
        for service in started:
            service.stop()
        _unavailable("the distributed tier", exc)
    redis, s3 = started
    assert isinstance(redis, RedisServer) and isinstance(s3, MotoServer)
    try:
        directory = tmp_path_factory.mktemp("proxy-tier")
        with topology(directory, database, redis, s3) as tier:
            yield tier
    finally:
        for service in started:
            service.stop()


def forget_rate_limits(url: str) -> None:
    """Each test starts with no requests counted, as an in-process app does (the replicas
    count in Redis, which outlives a test)."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter("lexbase:rl*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The shared Redis server, emptied before each test that uses it."""
    import redis

    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    return redis_server.url


@pytest.fixture
async def tenant(make_settings: SettingsFactory) -> Any:
    """Organization A: one user per role, with access tokens."""
    from tests.factories import create_tenant

    return await create_tenant(make_settings(), "Alpha LLP")


@pytest.fixture
async def other_tenant(make_settings: SettingsFactory) -> Any:
    """Organization B, which must never see anything of A's."""
    from tests.factories import create_tenant

    return await create_tenant(make_settings(), "Beta LLP")


@pytest.fixture(scope="session")
def moto_server(services_dir: Path) -> Iterator[MotoServer]:
    """A real S3-compatible server (moto) for the S3 blob store."""
    try:
        server = start_moto(services_dir)
    except ServiceUnavailable as exc:
        _unavailable("S3 (moto)", exc)
    yield server
    server.stop()
