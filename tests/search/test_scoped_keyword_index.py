"""The SQLite chunk index's organization column: filled for rows that existed before revision
0008, kept in step by every write, and never matching a query's words."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

from lexbase.core.config import Settings
from lexbase.core.migrate import downgrade, upgrade
from lexbase.search.keyword_index import scope_token

FIRMS = (str(uuid.uuid4()), str(uuid.uuid4()))


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


def _matches(db: sqlite3.Connection, words: str, organization: str) -> list[int]:
    match = f'({{text}} : "{words}") AND ({{scope}} : "{scope_token(organization)}")'
    rows = db.execute("SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ?", (match,))
    return sorted(pk for (pk,) in rows)


def test_rows_from_before_the_revision_are_indexed_with_their_firm(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path)
    upgrade(settings, "0007_document_profiles")
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
    with sqlite3.connect(path) as db:
        assert _matches(db, "indemnification", FIRMS[0]) == [1]
        assert _matches(db, "indemnification", FIRMS[1]) == [2]
        # Written after the revision: the triggers keep text and firm in step.
        _insert(db, 3, FIRMS[0], "indemnification survives termination")
        assert _matches(db, "indemnification", FIRMS[0]) == [1, 3]
        db.execute("UPDATE chunks SET text = 'governing law' WHERE pk = 1")
        assert _matches(db, "indemnification", FIRMS[0]) == [3]
        assert _matches(db, "governing law", FIRMS[0]) == [1]
        db.execute("DELETE FROM chunks WHERE pk = 3")
        assert _matches(db, "indemnification", FIRMS[0]) == []
        # A firm's token is not a word anyone can search for.
        token = scope_token(FIRMS[1])
        words = db.execute(
            "SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH ?", (f'{{text}} : "{token}"',)
        ).fetchone()
        assert words == (0,)
        db.execute("INSERT INTO chunks_fts(chunks_fts) VALUES ('integrity-check')")
    downgrade(settings, "0007_document_profiles")
    with sqlite3.connect(path) as db:
        rows = db.execute(
            "SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH 'indemnification'"
        ).fetchall()
        assert rows == [(2,)]


def test_the_scoped_index_tokenizes_text_as_every_other_index() -> None:
    from lexbase.search.keyword_index import SCOPED_SQLITE_CREATE, SQLITE_TOKENIZER

    assert f'tokenize="{SQLITE_TOKENIZER}"' in SCOPED_SQLITE_CREATE[1]
