"""`lexbase ingest`, run as a real subprocess against a migrated SQLite data directory."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from lexbase.commands.ingest import collect_files
from tests.documents.helpers import FILINGS

LEXBASE = [sys.executable, "-m", "lexbase"]
COURT_FILING = FILINGS / "recap_documents" / "ca2_1-1.pdf"

LEASE = (
    "COMMERCIAL LEASE AGREEMENT\n\n"
    "This Lease is entered into on March 3, 2021 between Harbor Properties LLC (Landlord) and "
    "Northwind Traders Inc. (Tenant). The Tenant shall pay rent of $12,500 per month, due on "
    "the first day of each month. Either party may terminate this Lease on ninety days' "
    "written notice if the other party materially breaches it and fails to cure.\n"
)
MEMO = (
    "MEMORANDUM\n\nTo: Litigation team\nRe: Motion to dismiss for lack of standing\n\n"
    "Plaintiff must show an injury in fact that is concrete and particularized. See Lujan v. "
    "Defenders of Wildlife, 504 U.S. 555, 560 (1992). The complaint alleges only a bare "
    "procedural violation, which Spokeo, Inc. v. Robins, 578 U.S. 330 (2016) holds is not "
    "enough.\n"
)
OPINION_HTML = (
    "<!doctype html><html><head><title>Opinion</title></head><body>"
    "<h1>UNITED STATES COURT OF APPEALS FOR THE SECOND CIRCUIT</h1>"
    "<p>Smith v. Jones, No. 21-1234. We review the grant of summary judgment de novo. "
    "Because the district court correctly found no genuine dispute of material fact, "
    "we AFFIRM.</p></body></html>"
)


def lexbase(
    *args: str, env: dict[str, str], cwd: Path, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("LEXBASE_") or k == "LEXBASE_MODEL_DIR"
    }
    return subprocess.run(
        [*LEXBASE, *args],
        env={**base, **env},
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def bootstrap(tmp_path: Path) -> tuple[dict[str, str], str]:
    """A migrated data dir with one firm and its admin; returns the env and organization id."""
    env = {"LEXBASE_DATA_DIR": str(tmp_path / "data"), "LEXBASE_LOG_LEVEL": "WARNING"}
    migrated = lexbase("migrate", env=env, cwd=tmp_path)
    assert migrated.returncode == 0, migrated.stderr
    admin = create_user(env, tmp_path, "admin@firm.test", "--new-organization", "Smith LLP")
    match = re.search(r"in organization (\S+)", admin.stdout)
    assert match is not None, admin.stdout
    return env, match.group(1)


def create_user(
    env: dict[str, str], cwd: Path, email: str, *args: str
) -> subprocess.CompletedProcess[str]:
    created = lexbase(
        "admin",
        "create-user",
        email,
        "--full-name",
        email.split("@")[0],
        *args,
        "--password-stdin",
        env=env,
        cwd=cwd,
        stdin="Correct-Horse-42\n",
    )
    assert created.returncode == 0, created.stderr
    return created


def test_ingest_indexes_a_folder_and_reports_each_refusal(tmp_path: Path) -> None:
    env, _ = bootstrap(tmp_path)
    inbox = tmp_path / "inbox"
    (inbox / "filings").mkdir(parents=True)
    (inbox / "lease.txt").write_text(LEASE)
    (inbox / "memo.txt").write_text(MEMO)
    (inbox / "filings" / "opinion.html").write_text(OPINION_HTML)
    (inbox / "filings" / "ca2_1-1.pdf").write_bytes(COURT_FILING.read_bytes())
    (inbox / "zz-lease-copy.txt").write_text(LEASE)  # same bytes, later in sorted order
    (inbox / "empty.txt").write_bytes(b"")
    (inbox / "x.pdf").write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(56) + b"\x90" * 512)
    (inbox / ".notes.txt").write_text("Hidden scratch notes that must never be uploaded.\n")
    (inbox / ".git").mkdir()
    (inbox / ".git" / "config.txt").write_text("Hidden directory content, never uploaded.\n")
    outside = tmp_path / "outside.txt"
    outside.write_text("A file outside the folder, reachable only through a symlink.\n")
    (inbox / "escape.txt").symlink_to(outside)

    result = lexbase(
        "ingest",
        str(inbox),
        "--user",
        "admin@firm.test",
        "--concurrency",
        "3",
        "--tags",
        "import-2024, litigation",
        env=env,
        cwd=tmp_path,
    )

    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "indexed 4, duplicate 1, failed 2"
    assert sorted(lines[1:]) == [
        f"FAILED {inbox / 'empty.txt'}: The file is empty",
        f"FAILED {inbox / 'x.pdf'}: Unsupported file type (an ELF executable); "
        "upload PDF, DOCX, DOC, HTML or plain text",
    ]
    assert "7 files to ingest" in result.stderr  # plain lines: stderr is not a terminal here
    assert f"duplicate {inbox / 'zz-lease-copy.txt'}" in result.stderr

    with sqlite3.connect(tmp_path / "data" / "lexbase.db") as conn:
        documents = conn.execute(
            "SELECT d.filename, d.status, d.tags, d.created_by, COUNT(c.id) FROM documents d "
            "LEFT JOIN chunks c ON c.document_id = d.id GROUP BY d.id ORDER BY d.filename"
        ).fetchall()
        (admin_id,) = conn.execute(
            "SELECT id FROM users WHERE email = 'admin@firm.test'"
        ).fetchone()
        jobs = conn.execute("SELECT status FROM jobs").fetchall()
        uploads = conn.execute(
            "SELECT COUNT(*) FROM audit_events WHERE event_type = 'document.uploaded'"
        ).fetchone()
        (memo_id,) = conn.execute("SELECT id FROM documents WHERE filename = 'memo.txt'").fetchone()
    assert [d[:4] for d in documents] == [
        ("ca2_1-1.pdf", "indexed", '["import-2024", "litigation"]', admin_id),
        ("lease.txt", "indexed", '["import-2024", "litigation"]', admin_id),
        ("memo.txt", "indexed", '["import-2024", "litigation"]', admin_id),
        ("opinion.html", "indexed", '["import-2024", "litigation"]', admin_id),
    ]
    assert all(chunks > 0 for *_, chunks in documents), documents
    assert jobs == [("succeeded",)] * 4
    assert uploads == (4,)

    # A re-run stores nothing new, and a file whose stored copy failed still fails the run.
    with sqlite3.connect(tmp_path / "data" / "lexbase.db") as conn:
        conn.execute(
            "UPDATE documents SET status = 'failed', error = 'Damaged' WHERE id = ?", (memo_id,)
        )
    again = lexbase("ingest", str(inbox), "--user", "admin@firm.test", env=env, cwd=tmp_path)
    assert again.returncode == 1, again.stderr
    lines = again.stdout.splitlines()
    assert lines[0] == "indexed 0, duplicate 4, failed 3"
    stale = f"FAILED {inbox / 'memo.txt'}: already stored as memo.txt ({memo_id}), which failed"
    assert f"{stale}: Damaged" in lines
    with sqlite3.connect(tmp_path / "data" / "lexbase.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM jobs").fetchone() == (4,)


def test_ingest_refuses_users_who_cannot_upload(tmp_path: Path) -> None:
    env, organization_id = bootstrap(tmp_path)
    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / "memo.txt").write_text(MEMO)
    create_user(
        env, tmp_path, "reader@firm.test", "--organization-id", organization_id, "--role", "viewer"
    )
    create_user(
        env, tmp_path, "gone@firm.test", "--organization-id", organization_id, "--role", "attorney"
    )
    with sqlite3.connect(tmp_path / "data" / "lexbase.db") as conn:
        conn.execute("UPDATE users SET is_active = 0 WHERE email = 'gone@firm.test'")

    refusals = {
        ("--user", "ghost@firm.test"): "no user with email ghost@firm.test",
        ("--user", "Reader@Firm.test"): (
            "user reader@firm.test has the viewer role, which may not upload"
        ),
        ("--user", "gone@firm.test"): "user gone@firm.test is deactivated",
        ("--user", "admin@firm.test", "--matter-id", "no-such-matter"): (
            "matter no-such-matter does not exist or is not visible to the user"
        ),
    }

    def ingest(args: tuple[str, ...]) -> subprocess.CompletedProcess[str]:
        return lexbase("ingest", str(folder), *args, env=env, cwd=tmp_path)

    # Independent runs (each only reads), so they go in parallel to keep the test quick.
    with ThreadPoolExecutor(max_workers=len(refusals)) as pool:
        results = dict(zip(refusals, pool.map(ingest, refusals), strict=True))
    for args, message in refusals.items():
        assert results[args].returncode == 2, (args, results[args].stderr)
        assert results[args].stderr.strip() == f"lexbase: {message}"
    with sqlite3.connect(tmp_path / "data" / "lexbase.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM documents").fetchone() == (0,)


def test_collect_files_skips_hidden_entries_and_escaping_symlinks(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "b" / ".cache").mkdir(parents=True)
    (root / ".hidden").mkdir()
    for relative in ("a.txt", "b/c.txt", "b/.cache/x.txt", ".hidden/y.txt", ".dotfile"):
        (root / relative).write_text(relative)
    (tmp_path / "secret.txt").write_text("outside")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "z.txt").write_text("outside")
    (root / "leak.txt").symlink_to(tmp_path / "secret.txt")
    (root / "leakdir").symlink_to(tmp_path / "elsewhere")
    (root / "alias.txt").symlink_to(root / "b" / "c.txt")  # inside, but the same file again
    (root / "b" / "link.txt").symlink_to(root / "b" / ".cache" / "x.txt")  # inside: taken

    (root / "store" / "blobs").mkdir(parents=True)
    (root / "store" / "lexbase.db").write_text("the service's own database")
    (root / "store" / "blobs" / "0a1b").write_text("a stored blob")

    found = collect_files(
        [root, root / "b", root / ".dotfile", root / "store" / "lexbase.db"], exclude=root / "store"
    )

    assert found == [
        root / ".dotfile",
        root / "a.txt",
        root / "b" / "c.txt",
        root / "b" / "link.txt",
    ]
