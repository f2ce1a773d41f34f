"""`/metrics` beyond HTTP: the work a process did (jobs, documents, searches, refusals) and the
gauges read at scrape time (queue depth and age, workers, data disk)."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest

from lexbase.app import create_app
from tests.conftest import SettingsFactory, running
from tests.documents.helpers import upload, wait_done
from tests.factories import Tenant
from tests.ingest import hostile


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text format (0 when it is absent: a counter that
    has not moved yet has no sample)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    pattern = rf"^{re.escape(name)}{re.escape('{' + wanted + '}') if wanted else ''} (\S+)$"
    found = re.search(pattern, text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


async def scrape(c: httpx.AsyncClient) -> str:
    response = await c.get("/metrics")
    assert response.status_code == 200
    return response.text


@pytest.mark.in_process  # reads one process's counters
async def test_jobs_documents_and_searches_are_counted(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    before = await scrape(client)
    headers = tenant.admin.headers
    document = (await upload(client, headers, b"Lease of the warehouse at 12 Dock Road.", "l.txt"))[
        "document"
    ]
    assert (await wait_done(client, headers, document["id"]))["status"] == "indexed"
    found = await client.post(
        "/api/v1/search", headers=headers, json={"query": "warehouse", "mode": "keyword"}
    )
    assert found.status_code == 200, found.text
    after = await scrape(client)

    def moved(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    job = {"type": "ingest_document", "outcome": "succeeded"}
    assert moved("lexbase_documents_processed_total", stage="index", outcome="succeeded") == 1
    assert moved("lexbase_jobs_total", **job) == 1
    assert moved("lexbase_job_duration_seconds_count", **job) == 1
    assert moved("lexbase_job_duration_seconds_sum", **job) > 0
    assert moved("lexbase_search_duration_seconds_count", mode="keyword") == 1
    # Nothing waits now, and the embedded runner's workers are counted (4 by default).
    assert sample(after, "lexbase_queue_depth") == 0
    assert sample(after, "lexbase_queue_oldest_age_seconds") == 0
    assert sample(after, "lexbase_workers") == 4
    assert 0 < sample(after, "lexbase_data_disk_free_ratio") <= 1


@pytest.mark.in_process  # reads one process's counters
async def test_a_failed_document_is_counted_at_its_stage(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    before = await scrape(client)
    # Accepted (a ZIP with Word's layout), then refused when its text is extracted.
    damaged = hostile.damaged_docx()
    document = (await upload(client, tenant.admin.headers, damaged, "damaged.docx"))["document"]
    assert (await wait_done(client, tenant.admin.headers, document["id"]))["status"] == "failed"
    after = await scrape(client)
    labels = {"stage": "extract", "outcome": "failed"}
    moved = sample(after, "lexbase_documents_processed_total", **labels) - sample(
        before, "lexbase_documents_processed_total", **labels
    )
    assert moved == 1
    failed = {"type": "ingest_document", "outcome": "failed"}
    assert (
        sample(after, "lexbase_jobs_total", **failed)
        - sample(before, "lexbase_jobs_total", **failed)
        == 1
    )


async def test_queue_gauges_show_waiting_work(
    make_settings: SettingsFactory, tenant: Tenant
) -> None:
    async with running(create_app(make_settings(embedded_workers=0))) as c:
        for n in range(2):
            await upload(c, tenant.admin.headers, f"Memo {n}.".encode(), f"m{n}.txt")
        await asyncio.sleep(0.5)
        text = await scrape(c)
    assert sample(text, "lexbase_queue_depth") == 2
    assert 0.5 <= sample(text, "lexbase_queue_oldest_age_seconds") < 60
    assert sample(text, "lexbase_workers") == 0


async def test_every_metric_the_dashboards_and_alerts_use_is_exposed(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    """deploy/grafana and deploy/prometheus read these names (tests/deploy keeps the list):
    each is served with its type, and its samples carry only the labels they query."""
    from prometheus_client.parser import text_string_to_metric_families

    from tests.deploy.test_deploy_files import METRICS

    headers = tenant.admin.headers
    document = (await upload(client, headers, b"Charter of the vessel.", "c.txt"))["document"]
    await wait_done(client, headers, document["id"])
    families = {f.name: f for f in text_string_to_metric_families(await scrape(client))}
    for name, (kind, labels) in METRICS.items():
        family = families.get(name.removesuffix("_total"))
        assert family is not None, f"{name} is not exposed"
        assert family.type == kind, (name, family.type)
        for sample in family.samples:
            assert set(sample.labels) - {"le"} <= labels, (name, sample.labels)
