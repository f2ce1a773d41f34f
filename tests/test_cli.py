"""The `lexbase` command line, run as a real subprocess."""

from __future__ import annotations

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
    base = {k: v for k, v in os.environ.items() if not k.startswith("LEXBASE_")}
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
