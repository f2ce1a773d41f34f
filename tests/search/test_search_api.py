"""POST /search, /search/suggest and /citations through the API, on both databases."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.test_envelope import assert_envelope
from tests.documents.helpers import upload, wait_done
from tests.factories import Tenant

SUPPLY = (
    "SUPPLY AGREEMENT\n\n"
    "This Supply Agreement is made between Acme Widgets, Inc. and Northwind Traders LLC.\n\n"
    "1. Term. This Agreement begins on the Effective Date and lasts for five years.\n\n"
    "2. Governing Law. This Agreement shall be governed by the laws of the State of Delaware, "
    "without regard to its conflict of laws principles.\n\n"
    "3. Insurance. The Supplier shall maintain product liability insurance of at least "
    "$2,000,000 per occurrence.\n\n"
    "4. Indemnification. The Supplier shall indemnify and hold harmless the Buyer from all "
    "third-party claims arising from defective goods.\n"
)
OPINION = (
    "SUPREME COURT OF ARKANSAS\n\nSmith v. Jones\n\n"
    "The appellant brought a claim under 42 U.S.C. § 1983 alleging a deprivation of rights. "
    "We have long held, following Roe v. Wade, 410 U.S. 113, 153 (1973), that privacy "
    "interests are protected.\n\n"
    "The judgment of the circuit court is affirmed. Nothing here concerns insurance.\n"
)
SEALED = (
    "SETTLEMENT MEMORANDUM\n\nThe parties to the Northwind dispute agree to settle for a "
    "confidential amount. Delaware law governs this settlement.\n"
)


async def search(
    client: httpx.AsyncClient, headers: dict[str, str], query: str, **body: Any
) -> dict[str, Any]:
    response = await client.post("/api/v1/search", headers=headers, json={"query": query, **body})
    assert response.status_code == 200, response.text
    return dict(response.json())


@pytest.fixture
async def corpus(client: httpx.AsyncClient, tenant: Tenant) -> dict[str, str]:
    attorney = tenant["attorney"].headers
    matter = await client.post(
        "/api/v1/matters", headers=attorney, json={"name": "Sealed", "restricted": True}
    )
    assert matter.status_code == 201, matter.text
    ids = {}
    for key, text, extra in (
        ("supply", SUPPLY, {"title": "Supply Agreement", "tags": "contracts,acme"}),
        ("opinion", OPINION, {"title": "Smith v. Jones"}),
        ("sealed", SEALED, {"title": "Settlement memo", "matter_id": matter.json()["id"]}),
    ):
        accepted = await upload(client, attorney, text.encode(), f"{key}.txt", **extra)
        ids[key] = accepted["document"]["id"]
    for key in ("supply", "opinion", "sealed"):
        assert (await wait_done(client, attorney, ids[key]))["status"] == "indexed"
    ids["matter"] = matter.json()["id"]
    return ids


async def test_keyword_results_carry_offsets_and_highlights(
    client: httpx.AsyncClient, tenant: Tenant, corpus: dict[str, str]
) -> None:
    headers = tenant["paralegal"].headers
    body = await search(client, headers, "indemnify defective goods", mode="keyword")
    first = body["results"][0]
    assert first["document_id"] == corpus["supply"]
    assert "indemnify" in first["text"]
    assert any("<mark>indemnify</mark>" in h for h in first["highlights"])
    text = await client.get(f"/api/v1/documents/{corpus['supply']}/text", headers=headers)
    assert text.text[first["start"] : first["end"]] == first["text"]
    assert body["took_ms"] >= 0
    assert body["total"] >= 1


async def test_semantic_search_finds_the_clause_by_meaning(
    client: httpx.AsyncClient, tenant: Tenant, corpus: dict[str, str]
) -> None:
    headers = tenant["paralegal"].headers
    body = await search(
        client, headers, "which state's law applies to the contract", mode="semantic"
    )
    first = body["results"][0]
    assert first["document_id"] == corpus["supply"]
    assert "Governing Law" in first["text"]
    text = await client.get(f"/api/v1/documents/{first['document_id']}/text", headers=headers)
    assert text.text[first["start"] : first["end"]] == first["text"]


async def test_hybrid_finds_a_party_first(
    client: httpx.AsyncClient, tenant: Tenant, corpus: dict[str, str]
) -> None:
    body = await search(client, tenant["viewer"].headers, "Northwind Traders")
    assert body["mode"] == "hybrid"
    assert body["results"][0]["document_id"] == corpus["supply"]
    # Facets count the documents of the whole match set, not only the page shown.
    assert sum(body["facets"]["document_type"].values()) >= 1
    assert set(body["facets"]) == {"document_type", "court", "year"}


async def test_citations_in_the_query_are_matched_as_citations(
    client: httpx.AsyncClient, tenant: Tenant, corpus: dict[str, str]
) -> None:
    headers = tenant["paralegal"].headers
    body = await search(client, headers, "410 U.S. 113")
    assert body["citations"] == ["410 U.S. 113"]
    assert body["results"][0]["document_id"] == corpus["opinion"]
    statute = await search(client, headers, "42 U.S.C. § 1983", mode="keyword")
    assert statute["results"][0]["document_id"] == corpus["opinion"]

    found = await client.get("/api/v1/citations", headers=headers, params={"cite": "410 U.S. 113"})
    assert found.status_code == 200, found.text
    lookup = found.json()
    assert [item["document_id"] for item in lookup["items"]] == [corpus["opinion"]]
    context = lookup["items"][0]["contexts"][0]
    assert "410 U.S. 113" in context["context"]
    assert context["pinpoint"] == "153"
    opinion = await client.get(f"/api/v1/documents/{corpus['opinion']}/text", headers=headers)
    assert opinion.text[context["start"] : context["end"]] == context["text"]


async def test_filters_restrict_every_mode(
    client: httpx.AsyncClient, tenant: Tenant, corpus: dict[str, str]
) -> None:
    headers = tenant["attorney"].headers  # a member of the sealed matter
    for mode in ("keyword", "semantic", "hybrid"):
        everything = await search(client, headers, "Delaware law governs", mode=mode)
        found = {r["document_id"] for r in everything["results"]}
        assert {corpus["supply"], corpus["sealed"]} <= found
        in_matter = await search(
            client,
            headers,
            "Delaware law governs",
            mode=mode,
            filters={"matter_id": corpus["matter"]},
        )
        assert {r["document_id"] for r in in_matter["results"]} == {corpus["sealed"]}
        tagged = await search(
            client, headers, "Delaware law governs", mode=mode, filters={"tags": ["acme"]}
        )
        assert {r["document_id"] for r in tagged["results"]} == {corpus["supply"]}
        chosen = await search(
            client,
            headers,
            "Delaware law governs",
            mode=mode,
            filters={"document_ids": [corpus["opinion"]]},
        )
        assert {r["document_id"] for r in chosen["results"]} <= {corpus["opinion"]}
        dated = await search(
            client,
            headers,
            "Delaware law governs",
            mode=mode,
            filters={"date_from": "1900-01-01"},
        )
        assert dated["results"] == []  # none of these documents carries a date


async def test_walls_and_tenants_are_never_crossed(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant, corpus: dict[str, str]
) -> None:
    for mode in ("keyword", "semantic", "hybrid"):
        outsider = await search(client, tenant["paralegal"].headers, "Northwind settle", mode=mode)
        assert corpus["sealed"] not in {r["document_id"] for r in outsider["results"]}
        admin = await search(client, tenant.admin.headers, "Northwind settle", mode=mode)
        assert corpus["sealed"] in {r["document_id"] for r in admin["results"]}
        foreign = await search(client, other_tenant.admin.headers, "Northwind settle", mode=mode)
        assert foreign["results"] == []
        assert foreign["total"] == 0
    cited = await client.get(
        "/api/v1/citations", headers=other_tenant.admin.headers, params={"cite": "410 U.S. 113"}
    )
    assert cited.json()["items"] == []
    suggested = await client.get(
        "/api/v1/search/suggest", headers=other_tenant.admin.headers, params={"prefix": "Supply"}
    )
    assert suggested.json()["items"] == []


async def test_suggest_completes_titles_and_citations(
    client: httpx.AsyncClient, tenant: Tenant, corpus: dict[str, str]
) -> None:
    headers = tenant["paralegal"].headers
    titles = await client.get("/api/v1/search/suggest", headers=headers, params={"prefix": "supp"})
    assert titles.status_code == 200, titles.text
    assert {"kind": "title", "value": "Supply Agreement", "document_id": corpus["supply"]} in (
        titles.json()["items"]
    )
    cites = await client.get("/api/v1/search/suggest", headers=headers, params={"prefix": "410 U"})
    assert {"kind": "citation", "value": "410 U.S. 113", "document_id": None} in cites.json()[
        "items"
    ]
    # The walled document's title is not suggested to an outsider.
    sealed = await client.get("/api/v1/search/suggest", headers=headers, params={"prefix": "sett"})
    assert all(item["document_id"] != corpus["sealed"] for item in sealed.json()["items"])


@pytest.mark.parametrize(
    "body",
    [
        {"query": ""},
        {"query": "   "},
        {"query": "x" * 10_000},
        {"query": "law", "limit": 101},
        {"query": "law", "offset": -1},
        {"query": "law", "mode": "fuzzy"},
        {"query": "law", "filters": {"color": "red"}},
        {"query": "law", "filters": {"date_from": "2024-13-40"}},
        {"query": "law", "filters": {"date_from": "2024-02-01", "date_to": "2024-01-01"}},
        {"query": "law", "unknown": True},
    ],
)
async def test_bad_requests_are_clear_422s(
    client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any]
) -> None:
    response = await client.post("/api/v1/search", headers=tenant.admin.headers, json=body)
    assert_envelope(response, 422, "validation_error")


SYNTAX = ['"', '"governing', "insur*", "NEAR(a b)", ")", "(", "a AND OR NOT", "^term", "-", "§"]


async def test_search_syntax_in_queries_is_just_text(
    client: httpx.AsyncClient, tenant: Tenant, corpus: dict[str, str]
) -> None:
    for query in SYNTAX:
        for mode in ("keyword", "hybrid"):
            body = await search(client, tenant.admin.headers, query, mode=mode)
            assert isinstance(body["results"], list)
    # Operators are words: "indemn*" is not a prefix search for "indemnify".
    starred = await search(client, tenant.admin.headers, "indemn*", mode="keyword")
    assert {r["document_id"] for r in starred["results"]} == set()


async def test_quoted_phrases_are_exact(
    client: httpx.AsyncClient, tenant: Tenant, corpus: dict[str, str]
) -> None:
    headers = tenant.admin.headers
    exact = await search(client, headers, '"product liability insurance"', mode="keyword")
    assert [r["document_id"] for r in exact["results"]] == [corpus["supply"]]
    assert any(
        "<mark>product liability insurance</mark>" in h for h in exact["results"][0]["highlights"]
    )
    # The same words out of order are not the phrase.
    swapped = await search(client, headers, '"insurance liability product"', mode="keyword")
    assert swapped["results"] == []


DISTRIBUTION = (
    "DISTRIBUTION AGREEMENT\n\n"
    "This Distribution Agreement is entered into by and between Contoso Pharmaceuticals Ltd. "
    "and Fabrikam Medical Inc.\n\n"
    "1. Appointment. Contoso appoints Fabrikam as its exclusive distributor in Canada.\n\n"
    "2. Termination. Either party may terminate this Agreement upon ninety days prior written "
    "notice to the other party.\n\n"
    "3. Audit. Contoso may audit the records of Fabrikam once per calendar year.\n"
)
SUPPLY_TERMINATION = (
    "SUPPLY AGREEMENT\n\n"
    "This Supply Agreement is made between Acme Widgets, Inc. and Northwind Traders LLC.\n\n"
    "1. Termination. Either party may terminate this Agreement upon thirty days prior written "
    "notice to the other party.\n\n"
    "2. Payment. The Buyer shall pay each invoice within forty-five days.\n"
)


async def test_a_query_naming_its_contract_is_answered_from_that_contract(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    headers = tenant["attorney"].headers
    ids = {}
    for key, text in (("distribution", DISTRIBUTION), ("supply", SUPPLY_TERMINATION)):
        accepted = await upload(client, headers, text.encode(), f"{key}.txt")
        ids[key] = accepted["document"]["id"]
    for document_id in ids.values():
        await wait_done(client, headers, document_id)

    question = "what notice is needed to terminate the agreement?"
    for who, expected, days in (
        ("Contoso Pharmaceuticals and Fabrikam Medical", "distribution", "ninety"),
        ("Acme Widgets and Northwind Traders", "supply", "thirty"),
    ):
        query = f"Consider the agreement between {who}; {question}"
        for mode in ("hybrid", "keyword", "semantic"):
            body = await search(client, headers, query, mode=mode)
            assert body["focus"] is not None, body
            assert body["focus"]["document_ids"] == [ids[expected]]
            assert body["focus"]["question"] == question
            first = body["results"][0]
            assert first["document_id"] == ids[expected]
            assert days in first["text"]
            assert {r["document_id"] for r in body["results"]} == {ids[expected]}

    # Without a reference clause both contracts answer, and nothing is focused.
    unfocused = await search(client, headers, question)
    assert unfocused["focus"] is None
    assert {r["document_id"] for r in unfocused["results"]} == set(ids.values())
    # A reference that names no document is not a focus either.
    vague = await search(client, headers, f"Consider the lease of Wingtip Toys; {question}")
    assert vague["focus"] is None
    assert {r["document_id"] for r in vague["results"]} == set(ids.values())
