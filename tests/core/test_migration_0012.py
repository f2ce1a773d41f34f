"""Revision 0012 rebuilds `documents` and `users` on SQLite: every row that refers to them
must survive (a rebuild with foreign keys on would cascade-delete them), and the relaxed
uniqueness must hold afterwards."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

import pytest

from lexbase.core.config import Settings
from lexbase.core.migrate import downgrade, upgrade

STAMP = "2026-01-01 00:00:00"


def _seed(db: sqlite3.Connection) -> dict[str, str]:
    ids = {name: str(uuid.uuid4()) for name in ("org", "user", "document", "chunk", "key")}
    db.execute(
        "INSERT INTO organizations (id, name, created_at, updated_at) VALUES (?, 'Firm', ?, ?)",
        (ids["org"], STAMP, STAMP),
    )
    db.execute(
        "INSERT INTO users (id, organization_id, email, full_name, role, password_hash, "
        "is_active, password_changed_at, created_at, updated_at) "
        "VALUES (?, ?, 'pat@firm.test', 'Pat', 'admin', 'x', 1, ?, ?, ?)",
        (ids["user"], ids["org"], STAMP, STAMP, STAMP),
    )
    db.execute(
        "INSERT INTO api_keys (id, user_id, organization_id, name, prefix, key_hash, created_at) "
        "VALUES (?, ?, ?, 'k', 'lxb_', ?, ?)",
        (ids["key"], ids["user"], ids["org"], uuid.uuid4().hex * 2, STAMP),
    )
    db.execute(
        "INSERT INTO documents (id, organization_id, title, filename, content_type, kind, "
        "size_bytes, sha256, blob_key, status, tags, metadata, created_by, created_at, "
        "updated_at) VALUES (?, ?, 't', 't.txt', 'text/plain', 'text', 1, ?, ?, 'indexed', "
        "'[]', '{}', ?, ?, ?)",
        (ids["document"], ids["org"], "a" * 64, "a" * 64, ids["user"], STAMP, STAMP),
    )
    db.execute(
        'INSERT INTO chunks (id, document_id, organization_id, ordinal, start, "end", text) '
        "VALUES (?, ?, ?, 0, 0, 5, 'hello')",
        (ids["chunk"], ids["document"], ids["org"]),
    )
    return ids


def _count(db: sqlite3.Connection, table: str) -> int:
    return int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608


def test_rebuild_keeps_every_referring_row(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path)
    upgrade(settings, "0011_organization_fts")
    path = tmp_path / "lexbase.db"
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA foreign_keys=ON")
        ids = _seed(db)
    upgrade(settings)
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA foreign_keys=ON")
        assert [_count(db, t) for t in ("users", "api_keys", "documents", "chunks")] == [1] * 4
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
        # The same file twice in one organization, and one address in two organizations.
        other_org = str(uuid.uuid4())
        db.execute(
            "INSERT INTO organizations (id, name, created_at, updated_at) VALUES (?, 'B', ?, ?)",
            (other_org, STAMP, STAMP),
        )
        db.execute(
            "INSERT INTO documents (id, organization_id, title, filename, content_type, kind, "
            "size_bytes, sha256, blob_key, status, tags, metadata, created_at, updated_at) "
            "VALUES (?, ?, 't', 't.txt', 'text/plain', 'text', 1, ?, ?, 'queued', '[]', '{}', "
            "?, ?)",
            (str(uuid.uuid4()), ids["org"], "a" * 64, "a" * 64, STAMP, STAMP),
        )
        db.execute(
            "INSERT INTO users (id, organization_id, email, full_name, role, password_hash, "
            "is_active, is_operator, password_changed_at, created_at, updated_at) "
            "VALUES (?, ?, 'pat@firm.test', 'Pat', 'admin', 'x', 1, 0, ?, ?, ?)",
            (str(uuid.uuid4()), other_org, STAMP, STAMP, STAMP),
        )
        with pytest.raises(sqlite3.IntegrityError):  # still unique within one organization
            db.execute(
                "INSERT INTO users (id, organization_id, email, full_name, role, "
                "password_hash, is_active, is_operator, password_changed_at, created_at, "
                "updated_at) VALUES (?, ?, 'pat@firm.test', 'P', 'viewer', 'x', 1, 0, ?, ?, ?)",
                (str(uuid.uuid4()), other_org, STAMP, STAMP, STAMP),
            )
        # Foreign keys still act after the rebuild: deleting the document takes its chunks.
        db.execute("DELETE FROM documents WHERE id = ?", (ids["document"],))
        assert _count(db, "chunks") == 0


def test_downgrade_restores_the_old_uniqueness(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path)
    upgrade(settings, "0011_organization_fts")
    path = tmp_path / "lexbase.db"
    with sqlite3.connect(path) as db:
        _seed(db)
    upgrade(settings)
    downgrade(settings, "0011_organization_fts")
    with sqlite3.connect(path) as db:
        assert _count(db, "chunks") == 1
        organization = db.execute("SELECT id FROM organizations").fetchone()[0]
        with pytest.raises(sqlite3.IntegrityError):
            db.execute(
                "INSERT INTO users (id, organization_id, email, full_name, role, "
                "password_hash, is_active, password_changed_at, created_at, updated_at) "
                "VALUES (?, ?, 'pat@firm.test', 'P', 'viewer', 'x', 1, ?, ?, ?)",
                (str(uuid.uuid4()), organization, STAMP, STAMP, STAMP),
            )
