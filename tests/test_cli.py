"""The `lexbase` command line, run as a real subprocess."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

from lexbase import __version__
from lexbase.core.config import load_settings

LEXBASE = [sys.executable, "-m", "lexbase"]


def run(
    *args: str, env: dict[str, str] | None = None, cwd: Path
) -> subprocess.CompletedProcess[str]:
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("LEXBASE_") or k == "LEXBASE_MODEL_DIR"
    }
    return subprocess.run(
        [*LEXBASE, *args],
        env={**base, **(env or {})},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_version(tmp_path: Path) -> None:
    result = run("version", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.strip() == __version__


def test_gen_secrets_prints_a_production_grade_key(tmp_path: Path) -> None:
    first = run("gen-secrets", cwd=tmp_path).stdout
    second = run("gen-secrets", cwd=tmp_path).stdout
    match = re.fullmatch(r"LEXBASE_SECRET_KEY=(\S+)\n", first)
    assert match is not None
    assert first != second
    settings = load_settings(env="production", secret_key=match.group(1))
    assert settings.is_production


def test_migrate_creates_the_embedded_database(tmp_path: Path) -> None:
    data_dir = tmp_path / "store"
    result = run("migrate", env={"LEXBASE_DATA_DIR": str(data_dir)}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(data_dir / "lexbase.db") as conn:
        (version,) = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        (mode,) = conn.execute("PRAGMA journal_mode").fetchone()
    assert version
    assert mode == "wal"
    again = run("migrate", env={"LEXBASE_DATA_DIR": str(data_dir)}, cwd=tmp_path)
    assert again.returncode == 0, again.stderr


def test_prepare_models_makes_and_loads_the_embedder(tmp_path: Path) -> None:
    # The run's shared model directory is made already (tests/conftest.py); this checks the
    # command finds, loads and reports it, as `make run` relies on before `serve`.
    result = run("prepare-models", env={"LEXBASE_DATA_DIR": str(tmp_path)}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    [record] = [json.loads(line) for line in result.stderr.splitlines() if "models." in line]
    assert record["event"] == "models.prepared"
    assert (record["embedder"], record["dimensions"]) == ("model2vec-minilm-l6-v2", 256)
    assert record["model_dir"] == os.environ["LEXBASE_MODEL_DIR"]


def test_bad_configuration_fails_fast_with_one_line(tmp_path: Path) -> None:
    result = run("serve", env={"LEXBASE_PORT": "not-a-port"}, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "LEXBASE_PORT" in lines[0]


def test_production_refuses_placeholder_secret(tmp_path: Path) -> None:
    env = {"LEXBASE_ENV": "production", "LEXBASE_SECRET_KEY": "changeme"}
    result = run("serve", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "LEXBASE_SECRET_KEY" in result.stderr


def test_admin_create_user_bootstraps_a_firm(tmp_path: Path) -> None:
    env = {"LEXBASE_DATA_DIR": str(tmp_path / "d"), "LEXBASE_LOG_LEVEL": "WARNING"}
    assert run("migrate", env=env, cwd=tmp_path).returncode == 0

    def create(
        *args: str, password: str = "Bootstrap-Admin-77"
    ) -> subprocess.CompletedProcess[str]:
        base = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("LEXBASE_") or k == "LEXBASE_MODEL_DIR"
        }
        return subprocess.run(
            [*LEXBASE, "admin", "create-user", *args, "--password-stdin"],
            env={**base, **env},
            cwd=tmp_path,
            input=password + "\n",
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    first = create(
        "Head@Firm.test", "--full-name", "Head of Practice", "--new-organization", "Smith LLP"
    )
    assert first.returncode == 0, first.stderr
    match = re.search(
        r"created user (\S+) \(head@firm.test, admin\) in organization (\S+)", first.stdout
    )
    assert match is not None
    organization_id = match.group(2)
    second = create(
        "para@firm.test",
        "--full-name",
        "Para Legal",
        "--role",
        "paralegal",
        "--organization-id",
        organization_id,
    )
    assert second.returncode == 0, second.stderr
    with sqlite3.connect(tmp_path / "d" / "lexbase.db") as conn:
        rows = conn.execute(
            "SELECT email, role, organization_id FROM users ORDER BY email"
        ).fetchall()
        events = [r[0] for r in conn.execute("SELECT event_type FROM audit_events ORDER BY seq")]
    assert rows == [
        ("head@firm.test", "admin", organization_id),
        ("para@firm.test", "paralegal", organization_id),
    ]
    assert events == ["organization.created", "user.created", "user.created"]

    verified = run("audit", "verify", env=env, cwd=tmp_path)
    assert verified.returncode == 0, verified.stderr
    assert f"{organization_id}: 3 events checked, ok" in verified.stdout
    with sqlite3.connect(tmp_path / "d" / "lexbase.db") as conn:
        conn.execute("DROP TRIGGER audit_events_no_update")  # an attacker with schema rights
        conn.execute("UPDATE audit_events SET event_type = 'user.deleted' WHERE seq = 2")
    broken = run("audit", "verify", env=env, cwd=tmp_path)
    assert broken.returncode == 1
    assert "BROKEN at" in broken.stdout and "hash_mismatch" in broken.stdout

    duplicate = create("head@firm.test", "--full-name", "X", "--organization-id", organization_id)
    assert duplicate.returncode == 1
    assert "already exists" in duplicate.stderr
    weak = create("w@firm.test", "--full-name", "W", "--new-organization", "W", password="short")
    assert weak.returncode == 1
    assert "at least 8" in weak.stderr
    neither = create("n@firm.test", "--full-name", "N")
    assert neither.returncode == 2

    def operator(*args: str) -> subprocess.CompletedProcess[str]:
        return run(
            "admin", "operator", *args, "--organization-id", organization_id, env=env, cwd=tmp_path
        )

    assert "operator granted" in operator("head@firm.test").stdout
    assert operator("para@firm.test").returncode == 1  # only admins
    assert operator("nobody@firm.test").returncode == 1
    with sqlite3.connect(tmp_path / "d" / "lexbase.db") as conn:
        flags = dict(conn.execute("SELECT email, is_operator FROM users").fetchall())
    assert flags == {"head@firm.test": 1, "para@firm.test": 0}
    assert "operator revoked" in operator("head@firm.test", "--revoke").stdout
