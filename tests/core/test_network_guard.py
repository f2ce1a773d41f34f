"""No outbound connections: workers cannot open one; a full ingest makes none from the API."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from lexbase.app import create_app
from lexbase.core.netguard import NetworkBlocked
from lexbase.core.processes import ProcessPool
from tests.conftest import SettingsFactory, running
from tests.documents.helpers import FILINGS, OPINIONS, upload, wait_done
from tests.factories import Tenant


def _try_connect(host: str) -> str:
    try:
        socket.create_connection((host, 443), timeout=2)
    except NetworkBlocked as exc:
        return f"blocked: {exc}"
    except OSError as exc:
        return f"not blocked: {type(exc).__name__}"
    return "connected"


def _try_resolve(host: str) -> str:
    try:
        socket.getaddrinfo(host, 443)
    except NetworkBlocked:
        return "blocked"
    except OSError as exc:
        return f"not blocked: {type(exc).__name__}"
    return "resolved"


async def test_worker_processes_cannot_reach_the_network() -> None:
    pool = ProcessPool(processes=1, memory_mb=1024)
    try:
        assert (await pool.run(_try_connect, "127.0.0.1", limit_seconds=60)).startswith("blocked")
        assert (await pool.run(_try_connect, "93.184.216.34", limit_seconds=60)).startswith(
            "blocked"
        )
        assert await pool.run(_try_resolve, "telemetry.example.com", limit_seconds=60) == "blocked"
    finally:
        await pool.close()


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every address the API process connects to while the test runs."""
    seen: list[Any] = []
    original = socket.socket.connect

    def recording(self: socket.socket, address: Any) -> None:
        seen.append(address)
        original(self, address)

    monkeypatch.setattr(socket.socket, "connect", recording)
    return seen


async def test_ingest_connects_only_to_configured_services(
    make_settings: SettingsFactory, tenant: Tenant, connections: list[Any], backend: str
) -> None:
    headers = tenant["paralegal"].headers
    async with running(create_app(make_settings())) as client:
        for path in (
            FILINGS / "recap_documents" / "ca6_1-3.pdf",
            sorted(OPINIONS.glob("*.txt"))[2],
        ):
            accepted = await upload(client, headers, path.read_bytes(), path.name)
            document = await wait_done(client, headers, accepted["document"]["id"])
            assert document["status"] == "indexed"
    for address in connections:
        if isinstance(address, tuple):
            assert address[0] in ("127.0.0.1", "::1", "localhost"), (
                f"outbound connection to {address}"
            )
    if backend == "postgres":
        assert connections, "the Postgres connections should have been observed"
