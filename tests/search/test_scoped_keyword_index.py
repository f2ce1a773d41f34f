"""SQLite's keyword indexes, one per organization (revision 0011): rows from before the
revision land in their firm's index, every write keeps it in step, and a firm's scores do not
depend on what other firms have written."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

import pytest

from lexbase.core.config import Settings
from lexbase.core.migrate import downgrade, upgrade
from lexbase.search.keyword_index import (
    SQLITE_TOKENIZER,
    chunk_index,
    organization_index_statements,
    organization_key,
    profile_index,
)

FIRMS = (str(uuid.uuid4()), str(uuid.uuid4()))


def scope_token(organization_id: str) -> str:
    """The organization token of the shared index that revision 0008 made (and a downgrade
    below 0011 restores)."""
    return "org" + organization_id.replace("-", "") + "x"


def _insert(db: sqlite3.Connection, pk: int, organization: str, text: str) -> None:
    document = f"doc-{pk}"
    db.execute(
        "INSERT INTO documents (id, organization_id, title, filename, content_type, kind, "
        "size_bytes, sha256, blob_key, status, tags, metadata, created_at, updated_at) "
        "VALUES (?, ?, 't', 't.txt', 'text/plain', 'text', 1, ?, 'k', 'indexed', '[]', '{}', "
        "'2026-01-01 00:00:00', '2026-01-01 00:00:00')",
        (document, organization, uuid.uuid4().hex * 2),
    )
    db.execute(
        'INSERT INTO chunks (pk, id, document_id, organization_id, ordinal, start, "end", text) '
        "VALUES (?, ?, ?, ?, 0, 0, ?, ?)",
        (pk, str(uuid.uuid4()), document, organization, len(text), text),
    )
    db.execute(
        "INSERT INTO document_profiles (pk, document_id, organization_id, text) "
        "VALUES (?, ?, ?, ?)",
        (pk, document, organization, f"Profile {pk}\n{text}"),
    )


def _matches(db: sqlite3.Connection, index: str, words: str) -> list[int]:
    rows = db.execute(f"SELECT rowid FROM {index} WHERE {index} MATCH ?", (f'"{words}"',))  # noqa: S608
    return sorted(pk for (pk,) in rows)


def _score(db: sqlite3.Connection, index: str, words: str, pk: int) -> float:
    row = db.execute(
        f"SELECT bm25({index}) FROM {index} WHERE {index} MATCH ? AND rowid = ?",  # noqa: S608
        (f'"{words}"', pk),
    ).fetchone()
    return float(row[0])


def test_each_firm_has_its_own_index_kept_by_every_write(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path)
    upgrade(settings, "0010_chunk_revisions")
    path = tmp_path / "lexbase.db"
    with sqlite3.connect(path) as db:
        for firm in FIRMS:
            db.execute(
                "INSERT INTO organizations (id, name, created_at, updated_at) VALUES (?, ?, ?, ?)",
                (firm, firm[:8], "2026-01-01 00:00:00", "2026-01-01 00:00:00"),
            )
        _insert(db, 1, FIRMS[0], "indemnification of the licensor")
        _insert(db, 2, FIRMS[1], "indemnification of the licensee")
    upgrade(settings)
    ours, theirs = chunk_index(FIRMS[0]), chunk_index(FIRMS[1])
    with sqlite3.connect(path) as db:
        # Rows from before the revision, each in its own firm's index only.
        assert _matches(db, ours, "indemnification") == [1]
        assert _matches(db, theirs, "indemnification") == [2]
        assert _matches(db, profile_index(FIRMS[0]), "profile") == [1]
        assert _matches(db, profile_index(FIRMS[1]), "licensee") == [2]
        # Written after it: the triggers keep text and firm in step.
        _insert(db, 3, FIRMS[0], "indemnification survives termination")
        assert _matches(db, ours, "indemnification") == [1, 3]
        assert _matches(db, theirs, "indemnification") == [2]
        db.execute("UPDATE chunks SET text = 'governing law' WHERE pk = 1")
        assert _matches(db, ours, "indemnification") == [3]
        assert _matches(db, ours, "governing law") == [1]
        db.execute("UPDATE document_profiles SET text = 'Renamed' WHERE pk = 1")
        assert _matches(db, profile_index(FIRMS[0]), "renamed") == [1]
        db.execute("DELETE FROM chunks WHERE pk = 3")
        assert _matches(db, ours, "indemnification") == []
        # A row moved to another firm by hand leaves one index and enters the other.
        db.execute("UPDATE chunks SET organization_id = ? WHERE pk = 1", (FIRMS[1],))
        assert _matches(db, ours, "governing law") == []
        assert _matches(db, theirs, "governing law") == [1]
        for index in (ours, theirs, profile_index(FIRMS[0]), profile_index(FIRMS[1])):
            db.execute(f"INSERT INTO {index}({index}) VALUES ('integrity-check')")  # noqa: S608
    downgrade(settings, "0010_chunk_revisions")
    with sqlite3.connect(path) as db:
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master")}
        assert ours not in tables
        assert theirs not in tables
        match = f'({{text}} : "indemnification") AND ({{scope}} : "{scope_token(FIRMS[1])}")'
        rows = db.execute("SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ?", (match,))
        assert rows.fetchall() == [(2,)]
        profiles = db.execute(
            "SELECT rowid FROM document_profiles_fts WHERE document_profiles_fts MATCH 'licensee'"
        )
        assert profiles.fetchall() == [(2,)]


def test_a_firms_scores_do_not_depend_on_other_firms(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path)
    upgrade(settings)
    path = tmp_path / "lexbase.db"
    with sqlite3.connect(path) as db:
        for firm in FIRMS:
            db.execute(
                "INSERT INTO organizations (id, name, created_at, updated_at) VALUES (?, ?, ?, ?)",
                (firm, firm[:8], "2026-01-01 00:00:00", "2026-01-01 00:00:00"),
            )
            for statement in organization_index_statements(firm):
                db.execute(statement)
        _insert(db, 1, FIRMS[0], "the seller shall indemnify the buyer")
        _insert(db, 2, FIRMS[0], "notices are given in writing")
        before = _score(db, chunk_index(FIRMS[0]), "indemnify", 1)
        for pk in range(10, 60):  # the other firm writes the word everywhere
            _insert(db, pk, FIRMS[1], f"indemnify indemnify clause {pk}")
        assert _score(db, chunk_index(FIRMS[0]), "indemnify", 1) == before


def test_index_names_take_canonical_organization_ids_only() -> None:
    firm = FIRMS[0]
    assert chunk_index(firm) == f"chunks_fts_{uuid.UUID(firm).hex}"
    assert organization_key(firm) == uuid.UUID(firm).hex
    for bad in (firm.upper(), "x'; DROP TABLE chunks; --", firm.replace("-", "")):
        with pytest.raises(ValueError, match="canonical"):
            chunk_index(bad)


def test_every_index_tokenizes_text_alike() -> None:
    statements = organization_index_statements(FIRMS[0])
    created = [s for s in statements if s.startswith("CREATE VIRTUAL TABLE")]
    assert len(created) == 2
    assert all(f'tokenize="{SQLITE_TOKENIZER}"' in s for s in created)
