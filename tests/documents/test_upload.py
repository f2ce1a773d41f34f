"""Upload, de-duplication, idempotency and the pipeline's output through the API."""

from __future__ import annotations

import hashlib

import httpx
import pypdfium2

from tests.api.test_envelope import assert_envelope
from tests.documents.helpers import FILINGS, OPINIONS, upload, wait_done
from tests.factories import Tenant


async def test_text_pdf_is_indexed_with_pages_text_chunks(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    headers = tenant["paralegal"].headers
    data = (FILINGS / "recap_documents" / "ca2_1-1.pdf").read_bytes()
    accepted = await upload(
        client, headers, data, "ca2_1-1.pdf", title="Second Circuit filing", tags="appeal, 2d Cir."
    )
    assert accepted["duplicate"] is False
    assert accepted["job_id"]
    document = accepted["document"]
    assert document["status"] in ("queued", "processing", "indexed")
    assert document["sha256"] == hashlib.sha256(data).hexdigest()
    assert document["content_type"] == "application/pdf"
    assert document["tags"] == ["appeal", "2d Cir."]
    done = await wait_done(client, headers, document["id"])
    assert done["status"] == "indexed", done
    pdf = pypdfium2.PdfDocument(data)
    assert done["page_count"] == len(pdf)
    pdf.close()
    assert done["indexed_at"] is not None

    text = await client.get(f"/api/v1/documents/{document['id']}/text", headers=headers)
    assert text.headers["content-type"].startswith("text/plain")
    assert text.text.count("\f") == done["page_count"] - 1
    as_json = (
        await client.get(f"/api/v1/documents/{document['id']}/text?format=json", headers=headers)
    ).json()
    assert as_json["text"] == text.text
    assert [p["page"] for p in as_json["pages"]] == list(range(1, done["page_count"] + 1))
    for page in as_json["pages"]:
        assert "\f" not in as_json["text"][page["start"] : page["end"]]

    chunks = (
        await client.get(f"/api/v1/documents/{document['id']}/chunks?limit=100", headers=headers)
    ).json()
    assert chunks["total"] > 0
    for item in chunks["items"]:
        assert as_json["text"][item["start"] : item["end"]] == item["text"]
        assert 1 <= item["page"] <= done["page_count"]

    job = (await client.get(f"/api/v1/jobs/{accepted['job_id']}", headers=headers)).json()
    assert job["status"] == "succeeded"
    assert job["progress"] == 1.0
    assert job["result"]["chunks"] == chunks["total"]
    assert job["provenance"]["extractor"] == "pypdfium2"
    assert job["input_hash"] == document["sha256"]
    assert {"extract", "enrich", "chunk"} <= job["timings"].keys()

    original = await client.get(f"/api/v1/documents/{document['id']}/file", headers=headers)
    assert original.content == data
    assert original.headers["content-type"] == "application/pdf"


async def test_opinion_text_offsets_index_the_original(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    headers = tenant["attorney"].headers
    path = sorted(OPINIONS.glob("*.txt"))[0]
    data = path.read_bytes()
    accepted = await upload(client, headers, data, path.name)
    done = await wait_done(client, headers, accepted["document"]["id"])
    assert done["status"] == "indexed", done
    text = (await client.get(f"/api/v1/documents/{done['id']}/text", headers=headers)).text
    assert text == data.decode("utf-8").lstrip("\ufeff")
    citations = (
        await client.get(f"/api/v1/documents/{done['id']}/citations", headers=headers)
    ).json()
    assert citations, "an opinion cites authorities"
    for citation in citations:
        assert text[citation["start"] : citation["end"]] == citation["text"]
    assert done["metadata"]["citations"]
    assert done["document_type"] == "opinion"


async def test_duplicate_returns_existing_document(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    data = (
        b"MASTER SERVICES AGREEMENT\n\nThis Agreement is made between Acme Inc. and Widget LLC.\n"
    )
    first = await upload(client, tenant["paralegal"].headers, data, "msa.txt")
    again = await upload(client, tenant["attorney"].headers, data, "copy-of-msa.txt")
    assert again["duplicate"] is True
    assert again["document"]["id"] == first["document"]["id"]
    assert again["job_id"] == first["job_id"]
    listing = (await client.get("/api/v1/documents", headers=tenant["viewer"].headers)).json()
    assert listing["total"] == 1


async def test_idempotency_key_replays_first_result(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    headers = {**tenant["paralegal"].headers, "Idempotency-Key": "upload-7f3a"}
    data = b"Short memo about the Smith matter.\n"
    first = await upload(client, headers, data, "memo.txt")
    second = await upload(client, headers, data, "memo.txt")
    assert second["document"]["id"] == first["document"]["id"]
    assert second["job_id"] == first["job_id"]
    assert second["duplicate"] is False
    other = await client.post(
        "/api/v1/documents",
        headers=headers,
        files={"file": ("other.txt", b"A different memo entirely.\n")},
    )
    assert_envelope(other, 409, "conflict")


async def test_viewer_cannot_upload(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.post(
        "/api/v1/documents",
        headers=tenant["viewer"].headers,
        files={"file": ("a.txt", b"hello world")},
    )
    assert_envelope(response, 403, "forbidden")
