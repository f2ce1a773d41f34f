"""POST /search bounds its paging and dates: anything out of range is a 422, never a 500."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
import pytest

from lexbase.search.schemas import MAX_LIMIT, MAX_OFFSET
from tests.api.test_envelope import assert_envelope
from tests.conftest import SettingsFactory
from tests.documents.helpers import upload, wait_done
from tests.factories import Tenant
from tests.support.db import set_document

SEARCH = "/api/v1/search"
LEASE = (
    b"RESIDENTIAL LEASE\n\nThe tenant shall pay monthly rent of $1,500 on the first day of "
    b"each month. Late rent accrues a fee of $50.\n"
)


@pytest.mark.parametrize(
    ("field", "value", "error_type"),
    [
        ("offset", 2**63, "less_than_equal"),
        ("offset", MAX_OFFSET + 1, "less_than_equal"),
        ("offset", -1, "greater_than_equal"),
        ("limit", 2**63, "less_than_equal"),
        ("limit", MAX_LIMIT + 1, "less_than_equal"),
        ("limit", 0, "greater_than_equal"),
    ],
)
async def test_paging_out_of_range_is_refused(
    client: httpx.AsyncClient, tenant: Tenant, field: str, value: int, error_type: str
) -> None:
    response = await client.post(
        SEARCH, headers=tenant["attorney"].headers, json={"query": "lease", field: value}
    )

    error = assert_envelope(response, 422, "validation_error")
    assert [(d["loc"], d["type"]) for d in error["details"]] == [(["body", field], error_type)]


async def test_a_non_finite_offset_is_refused(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.post(
        SEARCH,
        headers={**tenant["attorney"].headers, "Content-Type": "application/json"},
        content=b'{"query": "lease", "offset": 1e400}',
    )

    error = assert_envelope(response, 422, "validation_error")
    assert [detail["loc"] for detail in error["details"]] == [["body", "offset"]]


@pytest.mark.parametrize(
    "filters",
    [
        {"date_from": "10000-01-01"},
        {"date_to": "0000-12-31"},
        {"date_from": "-0001-01-01"},
        {"date_to": 10**20},
        {"date_from": "2024-02-30"},
    ],
)
async def test_dates_outside_the_calendar_are_refused(
    client: httpx.AsyncClient, tenant: Tenant, filters: dict[str, Any]
) -> None:
    response = await client.post(
        SEARCH, headers=tenant["attorney"].headers, json={"query": "lease", "filters": filters}
    )

    error = assert_envelope(response, 422, "validation_error")
    (name,) = filters
    assert [detail["loc"] for detail in error["details"]] == [["body", "filters", name]]


async def test_the_widest_dates_and_deepest_page_are_served(
    client: httpx.AsyncClient, tenant: Tenant, make_settings: SettingsFactory
) -> None:
    headers = tenant["attorney"].headers
    accepted = await upload(client, headers, LEASE, "lease.txt", title="Lease")
    document_id = accepted["document"]["id"]
    assert (await wait_done(client, headers, document_id))["status"] == "indexed"
    await set_document(make_settings(), document_id, document_date=date(2020, 6, 1))
    widest = {"date_from": "0001-01-01", "date_to": "9999-12-31"}

    for mode in ("keyword", "semantic", "hybrid"):
        found = await client.post(
            SEARCH,
            headers=headers,
            json={"query": "monthly rent", "mode": mode, "filters": widest, "limit": MAX_LIMIT},
        )
        assert found.status_code == 200, found.text
        assert {r["document_id"] for r in found.json()["results"]} == {document_id}, mode
        deepest = await client.post(
            SEARCH,
            headers=headers,
            json={"query": "monthly rent", "mode": mode, "filters": widest, "offset": MAX_OFFSET},
        )
        assert deepest.status_code == 200, deepest.text
        assert deepest.json()["results"] == []
        before = await client.post(
            SEARCH,
            headers=headers,
            json={"query": "monthly rent", "mode": mode, "filters": {"date_to": "0001-01-01"}},
        )
        assert before.status_code == 200, before.text
        assert before.json()["results"] == []
