"""`lexbase serve` writes no credential to its output: a full API session over real HTTP and
WebSockets, then every secret it used is looked for in the process's stdout and stderr."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from tests.support.serve import LEXBASE, inherited_environment, lexbase_serve
from tests.support.services import find_free_port

PASSWORD = "Logbook-Quiet-Secret-77"
SECRET_KEY = "serve-logs-4c1e9a7b2d8f6e3a5b0c9d7e1f2a4b6c8d0e"


def _environment(data_dir: Path, port: int, level: str) -> dict[str, str]:
    base = inherited_environment()
    return {
        **base,
        "LEXBASE_ENV": "test",
        "LEXBASE_SECRET_KEY": SECRET_KEY,
        "LEXBASE_DATA_DIR": str(data_dir),
        "LEXBASE_PORT": str(port),
        "LEXBASE_LOG_LEVEL": level,
        "LEXBASE_EMBEDDED_WORKERS": "0",
        "LEXBASE_WORKER_WARM_UP": "false",
    }


@contextmanager
def serving(data_dir: Path, log: Path, level: str) -> Iterator[tuple[str, int]]:
    port = find_free_port()
    env = _environment(data_dir, port, level)
    migrated = subprocess.run(
        [*LEXBASE, "migrate"], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert migrated.returncode == 0, migrated.stderr
    with lexbase_serve(env, port, log) as (_, base):
        yield base, port


def _ok(response: httpx.Response, status: int = 200) -> dict[str, object]:
    assert response.status_code == status, response.text
    return dict(response.json()) if response.content else {}


def _session(http: httpx.Client, port: int) -> list[str]:
    """Everything a client does with credentials; returns every secret it handled."""
    email = "partner@quietlogs.example"
    _ok(
        http.post(
            "/api/v1/auth/register",
            json={
                "email": email,
                "password": PASSWORD,
                "full_name": "Quiet Logs",
                "organization_name": "Quiet Logs LLP",
            },
        ),
        201,
    )
    refused = http.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD + "x"})
    assert refused.status_code == 401, refused.text
    form = _ok(http.post("/api/v1/auth/login", data={"username": email, "password": PASSWORD}))
    first = _ok(http.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD}))
    pair = _ok(http.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}))
    access = str(pair["access_token"])
    bearer = {"Authorization": f"Bearer {access}"}
    created = _ok(http.post("/api/v1/api-keys", headers=bearer, json={"name": "ci"}), 201)
    key = str(created["key"])
    assert key.startswith("lxb_")

    for headers in ({"X-API-Key": key}, {"Authorization": f"Bearer {key}"}, bearer):
        assert _ok(http.get("/api/v1/auth/me", headers=headers))["email"] == email
    # A credential in a query string is ignored by HTTP routes, and must not be logged either.
    stray = http.get("/api/v1/auth/me", params={"token": access, "api_key": key})
    assert stray.status_code == 401, stray.text

    for token in (access, key):
        with connect(f"ws://127.0.0.1:{port}/api/v1/ws?token={token}", open_timeout=30) as ws:
            assert ws.response is not None and ws.response.status_code == 101

    _ok(http.post("/api/v1/auth/logout", headers=bearer), 204)
    after = http.get("/api/v1/auth/me", headers=bearer)
    assert after.status_code == 401, after.text
    tokens = [first, pair, form]
    return [
        PASSWORD,
        key,
        *(str(t[name]) for t in tokens for name in ("access_token", "refresh_token")),
    ]


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
def test_no_credential_reaches_the_server_output(tmp_path: Path, level: str) -> None:
    log = tmp_path / "serve.log"
    with (
        serving(tmp_path / "data", log, level) as (base, port),
        httpx.Client(base_url=base, timeout=30) as http,
    ):
        secrets = _session(http, port)

    output = log.read_text(encoding="utf-8", errors="replace")
    assert output.count('"event": "http.request"') >= 12, output[-3000:]
    assert '"path": "/api/v1/auth/refresh"' in output
    # uvicorn's line for each socket handshake stays, without its query string.
    assert output.count('WebSocket /api/v1/ws\\" [accepted]') == 2, output[-3000:]
    for secret in secrets:
        # A JWT's signature alone is as good as a leak of the whole token.
        for fragment in {secret, secret.rsplit(".", 1)[-1]}:
            assert fragment not in output, f"a credential ({secret[:8]}…) is in the server output"
    assert "?token=" not in output and "token=" not in output
    assert "api_key=" not in output
    assert "argon2" not in output  # nor a password hash, even at DEBUG
