"""Hostile and broken uploads are refused at once or end `failed` with a reason — never stuck."""

from __future__ import annotations

import httpx

from lexbase.app import create_app
from tests.api.test_envelope import assert_envelope
from tests.conftest import SettingsFactory, running
from tests.documents.helpers import FILINGS, upload, wait_done
from tests.factories import Tenant
from tests.ingest import hostile

ELF = b"\x7fELF\x02\x01\x01" + b"\x00" * 200


async def test_refused_at_upload(client: httpx.AsyncClient, tenant: Tenant) -> None:
    headers = tenant["paralegal"].headers
    cases = [
        (b"", "empty.pdf", 422, "empty_file"),
        (ELF, "invoice.pdf", 415, "unsupported_media_type"),
        (bytes(range(256)) * 40, "notes.txt", None, None),
    ]
    for data, name, status, code in cases:
        response = await client.post(
            "/api/v1/documents", headers=headers, files={"file": (name, data)}
        )
        if status is None:
            assert response.status_code in (415, 422), response.text
        else:
            assert_envelope(response, status, code)  # type: ignore[arg-type]
    listing = (await client.get("/api/v1/documents", headers=headers)).json()
    assert listing["total"] == 0


async def test_oversized_upload_is_413(make_settings: SettingsFactory, tenant: Tenant) -> None:
    async with running(create_app(make_settings(max_upload_mb=1))) as c:
        response = await c.post(
            "/api/v1/documents",
            headers=tenant["paralegal"].headers,
            files={"file": ("big.txt", b"a" * (2 * 1024 * 1024))},
        )
        assert_envelope(response, 413, "payload_too_large")


async def test_scanned_pdf_fails_or_indexes_but_never_hangs(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    headers = tenant["paralegal"].headers
    data = (FILINGS / "ocr_pdf_variation.pdf").read_bytes()
    accepted = await upload(client, headers, data, "scan.pdf")
    done = await wait_done(client, headers, accepted["document"]["id"])
    assert done["status"] in ("indexed", "failed")
    assert done["metadata"].get("pages_without_text") or done["status"] == "failed"


async def test_an_80k_page_pdf_is_refused_before_anything_is_stored(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    headers = tenant["paralegal"].headers
    data = hostile.many_page_pdf(80_000)  # ≈ 10 MB: well under the size limit
    response = await client.post(
        "/api/v1/documents", headers=headers, files={"file": ("huge.pdf", data)}
    )
    error = assert_envelope(response, 422, "too_many_pages")
    assert "80,000 pages" in error["message"]
    listing = (await client.get("/api/v1/documents", headers=headers)).json()
    assert listing["total"] == 0
