"""Test tiers and fixtures.

Every API test runs twice: on SQLite (a fresh copy of a migrated template file per test) and on
a real PostgreSQL + pgvector server started for the run. Tests commit for real, exactly as the
service does (background jobs use their own sessions, which a wrapping rollback could not see);
isolation comes from a fresh SQLite file or from truncating every table after each test.

Outside CI a missing PostgreSQL or Redis skips that tier with a loud notice; with CI=true it fails.

`pytest --through-proxy` runs the API tests (those that talk to the service through the `client`
fixture) against the distributed tier instead: two `lexbase serve` replicas behind nginx, two
Celery workers, PostgreSQL, Redis and S3 (tests/support/topology.py), each test's requests
going over HTTP through the proxy (`make test-through-proxy`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
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


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--through-proxy",
        action="store_true",
        help="run the API tests over HTTP against the distributed tier (replicas behind nginx)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Through the proxy: only the API tests, once each, on the tier's PostgreSQL."""
    if not config.getoption("--through-proxy"):
        return
    kept, dropped = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        backend = callspec.params.get("backend") if callspec is not None else None
        api_test = "client" in getattr(item, "fixturenames", ())
        if api_test and backend == "postgres" and item.get_closest_marker("in_process") is None:
            kept.append(item)
        else:
            dropped.append(item)
    config.hook.pytest_deselected(items=dropped)
    items[:] = kept


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


async def _truncate_all(url: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
            if tables:
                await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
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
    server: PostgresServer = request.getfixturevalue("postgres_server")
    try:
        yield server.url
    finally:
        await _truncate_all(server.url)


SettingsFactory = Callable[..., Settings]


@pytest.fixture
def make_settings(database_url: str, tmp_path: Path) -> SettingsFactory:
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
    if request.config.getoption("--through-proxy"):
        tier: Topology = request.getfixturevalue("proxy_tier")
        forget_rate_limits(tier.redis.url)
        async with httpx.AsyncClient(base_url=tier.url, timeout=60) as c:
            yield c
        return
    async with running(create_app(make_settings())) as c:
        yield c


@pytest.fixture(scope="session")
def proxy_tier(
    postgres_server: PostgresServer,
    redis_server: RedisServer,
    services_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Topology]:
    """The distributed tier the API tests reach through its proxy (`--through-proxy`): it
    shares the run's PostgreSQL, which each test's tenants are written to and truncated from."""
    from tests.support.topology import find_nginx, topology

    try:
        find_nginx()
        s3 = start_moto(services_dir)
    except ServiceUnavailable as exc:
        _unavailable("the distributed tier", exc)
    try:
        directory = tmp_path_factory.mktemp("proxy-tier")
        with topology(directory, postgres_server, redis_server, s3) as tier:
            yield tier
    finally:
        s3.stop()


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
