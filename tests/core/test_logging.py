"""Structured JSON logs that carry the request id."""

from __future__ import annotations

import json
import re

import pytest

from lexbase.app import create_app
from lexbase.core.logging import configure_logging
from tests.conftest import SettingsFactory, running


async def test_access_log_is_json_with_request_id(
    make_settings: SettingsFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("INFO", json=True)
    async with running(create_app(make_settings())) as c:
        await c.get("/health/live", headers={"X-Request-ID": "req-log-check-1"})
    records = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.strip()]
    access = [r for r in records if r.get("event") == "http.request"]
    assert len(access) == 1
    entry = access[0]
    # The server names the request itself; the client's id is logged beside it.
    assert entry["client_request_id"] == "req-log-check-1"
    assert re.fullmatch(r"[0-9a-f]{32}", entry["request_id"])
    assert entry["route"] == "/health/live"
    assert entry["status"] == 200
    assert entry["level"] == "info"
    assert entry["duration_ms"] >= 0
    assert {"timestamp", "method", "path"} <= entry.keys()
