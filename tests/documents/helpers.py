"""Upload through the API and wait for the pipeline, as a client would."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures"
FILINGS = FIXTURES / "court-filings"
OPINIONS = FIXTURES / "opinions"


async def upload(
    c: httpx.AsyncClient,
    headers: dict[str, str],
    data: bytes,
    filename: str,
    *,
    expect: int = 202,
    **form: str,
) -> dict[str, Any]:
    response = await c.post(
        "/api/v1/documents", headers=headers, files={"file": (filename, data)}, data=form
    )
    assert response.status_code == expect, response.text
    return dict(response.json())


async def wait_done(
    c: httpx.AsyncClient, headers: dict[str, str], document_id: str, limit: float = 90.0
) -> dict[str, Any]:
    """Poll until the document is indexed or failed (never forever)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        document = (await c.get(f"/api/v1/documents/{document_id}", headers=headers)).json()
        if document["status"] in ("indexed", "failed"):
            return dict(document)
        await asyncio.sleep(0.2)
    raise AssertionError(f"document {document_id} still {document['status']} after {limit}s")
