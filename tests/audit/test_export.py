"""GET /audit/export: the trail streamed as JSON Lines or CSV, oldest first."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import Any

import httpx
import pytest

from lexbase.audit import export
from lexbase.audit.chain import event_hash
from lexbase.audit.models import GENESIS_HASH
from lexbase.audit.service import AuditFilters
from lexbase.core.permissions import Role
from lexbase.core.principal import Principal
from tests.audit.conftest import AuditLog
from tests.factories import Tenant

EXPORT = "/api/v1/audit/export"
COLUMNS = [
    "id",
    "seq",
    "event_type",
    "actor_id",
    "actor_type",
    "resource_type",
    "resource_id",
    "ip",
    "request_id",
    "details",
    "created_at",
    "prev_hash",
    "hash",
    "organization_id",
]


async def _seed(audit_log: AuditLog, tenant: Tenant) -> None:
    org = tenant.organization_id
    await audit_log.record(
        org, "matter.created", actor_id=tenant.admin.id, resource=("matter", "m")
    )
    await audit_log.record(org, "document.uploaded", details={"name": "Zoë's brief, v2"})
    await audit_log.record(org, "document.uploaded", details={"nested": {"b": [1, 2], "a": None}})
    await audit_log.record(org, "user.login", actor_id=tenant.admin.id)


async def _listed(client: httpx.AsyncClient, tenant: Tenant) -> list[dict[str, Any]]:
    response = await client.get(
        "/api/v1/audit/events", params={"limit": 100}, headers=tenant.admin.headers
    )
    items: list[dict[str, Any]] = response.json()["items"]
    return items[::-1]


async def test_jsonl_lines_are_the_events_oldest_first(
    client: httpx.AsyncClient, tenant: Tenant, audit_log: AuditLog
) -> None:
    await _seed(audit_log, tenant)

    response = await client.get(EXPORT, params={"format": "jsonl"}, headers=tenant.admin.headers)

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-ndjson"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith(f'attachment; filename="audit-{tenant.organization_id}-')
    assert disposition.endswith('.jsonl"')
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert lines == await _listed(client, tenant)
    assert [line["seq"] for line in lines] == [1, 2, 3, 4]


async def test_jsonl_is_enough_to_recompute_the_chain(
    client: httpx.AsyncClient, tenant: Tenant, audit_log: AuditLog
) -> None:
    await _seed(audit_log, tenant)

    response = await client.get(EXPORT, headers=tenant.admin.headers)

    # An auditor holding only the file can re-derive every hash and link (an organization's
    # chain is named by its id), so the export loses nothing the hashes cover.
    previous = GENESIS_HASH
    for line in response.text.splitlines():
        event = json.loads(line)
        fields = event | {
            "chain": event["organization_id"],
            "created_at": datetime.fromisoformat(event["created_at"]),
        }
        assert event["prev_hash"] == previous
        assert event_hash(fields) == event["hash"]
        previous = event["hash"]


async def test_csv_has_a_header_and_one_row_per_event(
    client: httpx.AsyncClient, tenant: Tenant, audit_log: AuditLog
) -> None:
    await _seed(audit_log, tenant)

    response = await client.get(EXPORT, params={"format": "csv"}, headers=tenant.admin.headers)

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"].endswith('.csv"')
    reader = csv.reader(io.StringIO(response.text))
    assert next(reader) == COLUMNS
    rows = [dict(zip(COLUMNS, row, strict=True)) for row in reader]
    listed = await _listed(client, tenant)
    assert len(rows) == len(listed) == 4
    for row, item in zip(rows, listed, strict=True):
        assert json.loads(row.pop("details")) == item.pop("details")
        assert row == {name: "" if value is None else str(value) for name, value in item.items()}


async def test_filters_apply_to_the_export(
    client: httpx.AsyncClient, tenant: Tenant, audit_log: AuditLog
) -> None:
    await _seed(audit_log, tenant)

    response = await client.get(
        EXPORT,
        params={"format": "csv", "event_type": "document.uploaded"},
        headers=tenant.admin.headers,
    )

    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(row["seq"], row["event_type"]) for row in rows] == [
        ("2", "document.uploaded"),
        ("3", "document.uploaded"),
    ]


async def test_export_streams_in_batches_from_its_own_session(
    client: httpx.AsyncClient,
    tenant: Tenant,
    audit_log: AuditLog,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    events = await audit_log.record_many(tenant.organization_id, 5)
    monkeypatch.setattr(export, "BATCH_SIZE", 2)
    principal = Principal(
        user_id=tenant.admin.id, organization_id=tenant.organization_id, role=Role.ADMIN
    )

    # The test transport buffers whole bodies, so chunking is observed on the generator.
    chunks = [
        chunk
        async for chunk in export.export_events(
            audit_log.sessionmaker, principal, AuditFilters(), export.ExportFormat.CSV
        )
    ]

    assert [chunk.count("\n") for chunk in chunks] == [2, 2, 2]  # header + 5 rows, by twos
    response = await client.get(EXPORT, headers=tenant.admin.headers)
    assert [json.loads(line)["id"] for line in response.text.splitlines()] == [
        event.id for event in events
    ]


async def test_export_holds_only_the_callers_organization(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant, audit_log: AuditLog
) -> None:
    await _seed(audit_log, tenant)
    theirs = await audit_log.record(other_tenant.organization_id)

    jsonl = await client.get(EXPORT, headers=other_tenant.admin.headers)
    csv_export = await client.get(
        EXPORT, params={"format": "csv"}, headers=other_tenant.admin.headers
    )

    assert [json.loads(line)["id"] for line in jsonl.text.splitlines()] == [theirs.id]
    assert [row["id"] for row in csv.DictReader(io.StringIO(csv_export.text))] == [theirs.id]


async def test_unknown_format_is_a_validation_error(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.get(EXPORT, params={"format": "xml"}, headers=tenant.admin.headers)

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert [detail["loc"] for detail in error["details"]] == [["query", "format"]]
