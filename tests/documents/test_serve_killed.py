"""`lexbase serve` itself SIGKILLed mid-ingest: after a restart every accepted upload is indexed,
exactly once. The service runs as a real subprocess on the embedded defaults."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.documents.helpers import FILINGS
from tests.support.serve import LEXBASE, inherited_environment, lexbase_serve
from tests.support.services import find_free_port

PASSWORD = "Kill-Restart-Resume-42"


def serve_environment(data_dir: Path, port: int) -> dict[str, str]:
    base = inherited_environment()
    return {
        **base,
        "LEXBASE_DATA_DIR": str(data_dir),
        "LEXBASE_PORT": str(port),
        "LEXBASE_LOG_LEVEL": "WARNING",
        # A killed process's leases must expire soon for the test; the default is a minute.
        "LEXBASE_JOB_LEASE_SECONDS": "3",
        "LEXBASE_JOB_POLL_SECONDS": "0.2",
        "LEXBASE_JOB_RETRY_BASE_SECONDS": "0",
        "LEXBASE_JOB_MAX_ATTEMPTS": "3",
        # One worker process to start and kill (the default is one per core).
        "LEXBASE_WORKER_PROCESSES": "1",
    }


@contextmanager
def serving(data_dir: Path, log: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = find_free_port()
    with lexbase_serve(serve_environment(data_dir, port), port, log) as running:
        yield running


def register_partner(base: str) -> dict[str, str]:
    registered = httpx.post(
        f"{base}/api/v1/auth/register",
        json={
            "email": "partner@killtest.example",
            "password": PASSWORD,
            "full_name": "Kill Test",
            "organization_name": "Kill Test LLP",
        },
        timeout=30,
    )
    assert registered.status_code == 201, registered.text
    return partner_login(base)


def partner_login(base: str) -> dict[str, str]:
    login = httpx.post(
        f"{base}/api/v1/auth/login",
        json={"email": "partner@killtest.example", "password": PASSWORD},
        timeout=30,
    )
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


def _job(base: str, headers: dict[str, str], job_id: str) -> dict[str, Any]:
    return dict(httpx.get(f"{base}/api/v1/jobs/{job_id}", headers=headers, timeout=30).json())


def test_a_killed_service_resumes_every_accepted_upload(tmp_path: Path) -> None:
    data_dir, log = tmp_path / "data", tmp_path / "serve.log"
    migrated = subprocess.run(
        [*LEXBASE, "migrate"],
        env=serve_environment(data_dir, find_free_port()),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert migrated.returncode == 0, migrated.stderr
    files = {
        "scan.pdf": (FILINGS / "image-pdf.pdf").read_bytes(),  # OCR: seconds of work
        **{
            f"note-{n}.txt": (
                f"MEMORANDUM {n}\n\nThe tenant shall pay rent of ${n},500 on the first day of "
                f"each month; late payment accrues interest of {n}% a year.\n"
            ).encode()
            for n in range(1, 4)
        },
    }
    accepted: dict[str, dict[str, Any]] = {}
    with serving(data_dir, log) as (process, base):
        headers = register_partner(base)
        for name, data in files.items():
            response = httpx.post(
                f"{base}/api/v1/documents",
                headers=headers,
                files={"file": (name, data)},
                timeout=60,
            )
            assert response.status_code == 202, response.text
            accepted[name] = response.json()
        scan_job = accepted["scan.pdf"]["job_id"]
        deadline = time.monotonic() + 120
        while _job(base, headers, scan_job)["status"] != "running":
            assert time.monotonic() < deadline, "the scan's job never started"
            time.sleep(0.05)
        os.killpg(process.pid, signal.SIGKILL)  # the service and its worker processes
        process.wait(timeout=30)

    with serving(data_dir, log) as (_, base):
        headers = partner_login(base)
        deadline = time.monotonic() + 300
        documents: dict[str, dict[str, Any]] = {}
        while len(documents) < len(files):
            assert time.monotonic() < deadline, f"not all resumed: {documents}"
            for name, answer in accepted.items():
                document_id = answer["document"]["id"]
                document = httpx.get(
                    f"{base}/api/v1/documents/{document_id}", headers=headers, timeout=30
                ).json()
                if document["status"] in ("indexed", "failed"):
                    documents[name] = document
            time.sleep(0.3)
        assert {n: d["status"] for n, d in documents.items()} == dict.fromkeys(files, "indexed")
        scan = _job(base, headers, scan_job)
        assert scan["status"] == "succeeded"
        assert scan["attempts"] >= 2, scan  # the killed attempt counted, then a fresh one
        for name, document in documents.items():
            chunks = httpx.get(
                f"{base}/api/v1/documents/{document['id']}/chunks",
                headers=headers,
                params={"limit": 100},
                timeout=30,
            ).json()["items"]
            assert chunks, name
            ordinals = [c["ordinal"] for c in chunks]
            assert sorted(ordinals) == list(range(len(chunks))), (name, ordinals)
        text = httpx.get(
            f"{base}/api/v1/documents/{documents['scan.pdf']['id']}/text",
            headers=headers,
            timeout=30,
        ).text
        assert len(text.split()) > 50  # the OCR stage ran to the end
