"""The route-by-role matrix, generated from the OpenAPI spec.

Every `/api/v1` route is called without credentials (401), as each role (allowed, or 403), and
as another organization's admin with real ids of the first organization (404). A new route
fails `test_every_route_is_classified` until its access rule is written down below.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from lexbase.apikeys.models import ApiKey
from lexbase.app import create_app
from lexbase.chat.models import Conversation
from lexbase.core.config import Settings
from lexbase.core.db import create_engine, create_sessionmaker, transaction
from lexbase.core.permissions import Role
from lexbase.core.security import digest, new_api_key
from lexbase.documents.models import Document, DocumentText
from lexbase.jobs.models import Job
from lexbase.matters.models import Client, Matter, MatterMember
from lexbase.providers.resources import open_blob_store
from lexbase.workflows.models import WorkflowExecution, WorkflowStep, WorkflowTemplate
from lexbase.workflows.templates import BY_ID
from tests.conftest import SettingsFactory
from tests.factories import Tenant, add_user

ALL = frozenset(Role)
WRITERS = frozenset({Role.ADMIN, Role.ATTORNEY, Role.PARALEGAL})
WALLS = frozenset({Role.ADMIN, Role.ATTORNEY})
ADMIN = frozenset({Role.ADMIN})

PUBLIC = {
    ("POST", "/api/v1/auth/register"),
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/refresh"),
}

ALLOWED: dict[tuple[str, str], frozenset[Role]] = {
    ("POST", "/api/v1/auth/logout"): ALL,
    ("GET", "/api/v1/auth/me"): ALL,
    ("PATCH", "/api/v1/auth/me"): ALL,
    ("POST", "/api/v1/auth/password"): ALL,
    ("POST", "/api/v1/api-keys"): ALL,
    ("GET", "/api/v1/api-keys"): ALL,
    ("GET", "/api/v1/api-keys/{api_key_id}"): ALL,
    ("DELETE", "/api/v1/api-keys/{api_key_id}"): ALL,
    ("GET", "/api/v1/organization"): ALL,
    ("PATCH", "/api/v1/organization"): ADMIN,
    ("POST", "/api/v1/users"): ADMIN,
    ("GET", "/api/v1/users"): ALL,
    ("GET", "/api/v1/users/{user_id}"): ALL,
    ("PATCH", "/api/v1/users/{user_id}"): ADMIN,
    ("DELETE", "/api/v1/users/{user_id}"): ADMIN,
    ("POST", "/api/v1/clients"): WRITERS,
    ("GET", "/api/v1/clients"): ALL,
    ("GET", "/api/v1/clients/{client_id}"): ALL,
    ("PATCH", "/api/v1/clients/{client_id}"): WRITERS,
    ("DELETE", "/api/v1/clients/{client_id}"): ADMIN,
    ("POST", "/api/v1/matters"): WRITERS,
    ("GET", "/api/v1/matters"): ALL,
    ("GET", "/api/v1/matters/{matter_id}"): ALL,
    ("PATCH", "/api/v1/matters/{matter_id}"): WRITERS,
    ("DELETE", "/api/v1/matters/{matter_id}"): WALLS,
    ("POST", "/api/v1/matters/{matter_id}/members"): WALLS,
    ("DELETE", "/api/v1/matters/{matter_id}/members/{user_id}"): WALLS,
    ("GET", "/api/v1/audit/events"): ADMIN,
    ("GET", "/api/v1/audit/export"): ADMIN,
    ("GET", "/api/v1/audit/verify"): ADMIN,
    ("GET", "/api/v1/health/detailed"): ADMIN,
    ("POST", "/api/v1/documents"): WRITERS,
    ("GET", "/api/v1/documents"): ALL,
    ("GET", "/api/v1/documents/{document_id}"): ALL,
    ("PATCH", "/api/v1/documents/{document_id}"): WRITERS,
    ("DELETE", "/api/v1/documents/{document_id}"): WRITERS,
    ("GET", "/api/v1/documents/{document_id}/text"): ALL,
    ("GET", "/api/v1/documents/{document_id}/file"): ALL,
    ("GET", "/api/v1/documents/{document_id}/chunks"): ALL,
    ("GET", "/api/v1/documents/{document_id}/citations"): ALL,
    ("POST", "/api/v1/documents/{document_id}/reprocess"): WRITERS,
    ("POST", "/api/v1/documents/{document_id}/analysis"): WRITERS,
    ("GET", "/api/v1/documents/{document_id}/analysis"): ALL,
    ("POST", "/api/v1/documents/{document_id}/summary"): WRITERS,
    ("POST", "/api/v1/analysis/contracts"): WRITERS,
    ("POST", "/api/v1/documents/{document_id}/questions"): WRITERS,
    ("GET", "/api/v1/analytics/usage"): ALL,
    ("GET", "/api/v1/analytics/tokens"): ALL,
    ("GET", "/api/v1/analytics/activity"): ALL,
    ("GET", "/api/v1/analytics/organization"): ADMIN,
    ("GET", "/api/v1/analytics/workflows"): ALL,
    ("GET", "/api/v1/workflows/templates"): ALL,
    ("GET", "/api/v1/workflows/templates/{template_id}"): ALL,
    ("POST", "/api/v1/workflows/templates"): ADMIN,
    ("GET", "/api/v1/workflows/categories"): ALL,
    ("GET", "/api/v1/workflows/schema"): ALL,
    ("POST", "/api/v1/workflows/executions"): WRITERS,
    ("GET", "/api/v1/workflows/executions"): ALL,
    ("GET", "/api/v1/workflows/executions/{execution_id}"): ALL,
    ("GET", "/api/v1/workflows/executions/{execution_id}/report"): ALL,
    ("POST", "/api/v1/workflows/executions/{execution_id}/cancel"): WRITERS,
    ("POST", "/api/v1/workflows/executions/{execution_id}/review"): WRITERS,
    ("POST", "/api/v1/workflows/executions/{execution_id}/steps/{name}/retry"): WRITERS,
    ("GET", "/api/v1/jobs"): ALL,
    ("GET", "/api/v1/jobs/{job_id}"): ALL,
    ("POST", "/api/v1/search"): ALL,
    ("GET", "/api/v1/search/suggest"): ALL,
    ("GET", "/api/v1/citations"): ALL,
    ("POST", "/api/v1/conversations"): WRITERS,
    ("GET", "/api/v1/conversations"): ALL,
    ("GET", "/api/v1/conversations/{conversation_id}"): ALL,
    ("DELETE", "/api/v1/conversations/{conversation_id}"): WRITERS,
    ("GET", "/api/v1/conversations/{conversation_id}/messages"): ALL,
    ("POST", "/api/v1/conversations/{conversation_id}/messages"): WRITERS,
}


# The narrowest API-key scope each route accepts (from its permission in
# core/permissions.py): account and key management need `admin`, never `read`.
READ, WRITE, ADMIN_SCOPE = "read", "write", "admin"
SCOPE_ORDER = (READ, WRITE, ADMIN_SCOPE)
ADMIN_SCOPED = {
    ("PATCH", "/api/v1/organization"),
    ("PATCH", "/api/v1/auth/me"),
    ("POST", "/api/v1/auth/password"),
    ("POST", "/api/v1/api-keys"),
    ("DELETE", "/api/v1/api-keys/{api_key_id}"),
    ("POST", "/api/v1/users"),
    ("PATCH", "/api/v1/users/{user_id}"),
    ("DELETE", "/api/v1/users/{user_id}"),
    ("GET", "/api/v1/audit/events"),
    ("GET", "/api/v1/audit/export"),
    ("GET", "/api/v1/audit/verify"),
    ("GET", "/api/v1/health/detailed"),
    ("GET", "/api/v1/analytics/organization"),
    ("POST", "/api/v1/workflows/templates"),
}
READ_ONLY_POSTS = {("POST", "/api/v1/search"), ("POST", "/api/v1/auth/logout")}


def narrowest_scope(key: tuple[str, str]) -> str:
    if key in ADMIN_SCOPED:
        return ADMIN_SCOPE
    if key[0] == "GET" or key in READ_ONLY_POSTS:
        return READ
    return WRITE


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    spec: dict[str, Any]

    @property
    def key(self) -> tuple[str, str]:
        return (self.method, self.path)


def operations(spec: dict[str, Any]) -> list[Operation]:
    return [
        Operation(method.upper(), path, op)
        for path, item in spec["paths"].items()
        if path.startswith("/api/v1/")
        for method, op in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]


SPEC = create_app().openapi()
OPERATIONS = operations(SPEC)
PROTECTED = [op for op in OPERATIONS if op.key not in PUBLIC]


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = SPEC["components"]["schemas"][name]
    return schema


def sample(schema: dict[str, Any]) -> Any:
    """A minimal value that satisfies `schema` (so handlers get past body validation)."""
    schema = _resolve(schema)
    if "anyOf" in schema:
        return sample(next(s for s in schema["anyOf"] if s.get("type") != "null"))
    if "enum" in schema:
        return schema["enum"][-1]
    kind = schema.get("type")
    if kind == "object":
        required = schema.get("required", [])
        return {name: sample(schema["properties"][name]) for name in required}
    if kind == "array":
        return [sample(schema["items"])] if schema.get("minItems") else []
    if kind == "boolean":
        return False
    if kind in ("integer", "number"):
        return schema.get("minimum", 1)
    if schema.get("format") == "date-time":
        return (datetime.now(UTC) + timedelta(days=1)).isoformat()
    if schema.get("format") == "email" or "email" in str(schema.get("title", "")).lower():
        return "sample.person@firm.test"
    return "Sample-Value-1234"[: max(schema.get("maxLength", 16), 1)].ljust(
        schema.get("minLength", 1), "x"
    )


def body_for(op: Operation) -> Any:
    content = op.spec.get("requestBody", {}).get("content", {})
    if "application/json" not in content:
        return None
    return sample(content["application/json"]["schema"])


@dataclass
class Resources:
    ids: dict[str, str]

    def url(self, path: str) -> str:
        return re.sub(r"\{(\w+)\}", lambda m: self.ids[m.group(1)], path)


async def seed(make_settings: SettingsFactory, tenant: Tenant) -> Resources:
    """Real resources of organization A, named after the path parameters that address them."""
    settings = make_settings()
    engine = create_engine(settings)
    try:
        async with transaction(create_sessionmaker(engine, write=True)) as session:
            target = await add_user(
                session, settings, tenant.organization_id, Role.VIEWER, "target"
            )
            client = Client(organization_id=tenant.organization_id, name="Acme Corp")
            session.add(client)
            await session.flush()
            matter = Matter(
                organization_id=tenant.organization_id, client_id=client.id, name="Acme v. Widget"
            )
            session.add(matter)
            await session.flush()
            session.add(MatterMember(matter_id=matter.id, user_id=target.id))
            secret = new_api_key()
            key = ApiKey(
                user_id=tenant.admin.id,
                organization_id=tenant.organization_id,
                name="seed",
                prefix=secret[:12],
                key_hash=digest(secret),
            )
            session.add(key)
            document, job = await _seed_document(session, settings, tenant, matter.id)
            conversation = Conversation(
                organization_id=tenant.organization_id, user_id=tenant.admin.id, title="Seeded"
            )
            session.add(conversation)
            await session.flush()
            template, execution = await _seed_workflow(session, tenant, document.id)
            ids = {
                "template_id": template.id,
                "execution_id": execution.id,
                "name": "analysis",
                "user_id": target.id,
                "client_id": client.id,
                "matter_id": matter.id,
                "api_key_id": key.id,
                "document_id": document.id,
                "job_id": job.id,
                "conversation_id": conversation.id,
            }
    finally:
        await engine.dispose()
    return Resources(ids)


async def _seed_workflow(
    session: AsyncSession, tenant: Tenant, document_id: str
) -> tuple[WorkflowTemplate, WorkflowExecution]:
    builtin = BY_ID["builtin:case-brief"]
    definition = builtin.definition.model_dump(mode="json")
    template = WorkflowTemplate(
        organization_id=tenant.organization_id,
        name="Seeded brief",
        category="litigation",
        definition=definition,
    )
    execution = WorkflowExecution(
        organization_id=tenant.organization_id,
        template_id=builtin.id,
        template_name=builtin.name,
        definition=definition,
        input={"document_id": document_id},
        status="failed",
        requested_by={"user_id": tenant.admin.id, "organization_id": tenant.organization_id},
        created_by=tenant.admin.id,
    )
    session.add_all([template, execution])
    await session.flush()
    session.add(
        WorkflowStep(
            execution_id=execution.id, ordinal=0, name="analysis", type="analyze", status="failed"
        )
    )
    await session.flush()
    return template, execution


async def _seed_document(
    session: AsyncSession, settings: Settings, tenant: Tenant, matter_id: str
) -> tuple[Document, Job]:
    data = b"Seeded memorandum.\n"
    blobs = open_blob_store(settings)  # the service's store: local files, or S3 in the tier
    key = await blobs.put(data)
    await blobs.close()
    document = Document(
        organization_id=tenant.organization_id,
        matter_id=matter_id,
        title="Seeded memo",
        filename="memo.txt",
        content_type="text/plain",
        kind="text",
        size_bytes=len(data),
        sha256=key,
        blob_key=key,
        status="indexed",
    )
    session.add(document)
    await session.flush()
    session.add(DocumentText(document_id=document.id, text=data.decode(), pages=[]))
    job = Job(
        organization_id=tenant.organization_id,
        matter_id=matter_id,
        subject_type="document",
        subject_id=document.id,
        type="ingest_document",
        status="succeeded",
    )
    session.add(job)
    return document, job


async def fresh_headers(
    make_settings: SettingsFactory, tenant: Tenant, role: Role
) -> dict[str, str]:
    """A new session for `role` (logout and password changes end sessions as they go)."""
    settings = make_settings()
    engine = create_engine(settings)
    try:
        async with transaction(create_sessionmaker(engine, write=True)) as session:
            user = await add_user(session, settings, tenant.organization_id, role, "caller")
    finally:
        await engine.dispose()
    return user.headers


async def call(
    c: httpx.AsyncClient, op: Operation, url: str, headers: dict[str, str]
) -> httpx.Response:
    body = body_for(op)
    return await c.request(op.method, url, headers=headers, json=body)


def test_every_route_is_classified() -> None:
    routes = {op.key for op in OPERATIONS}
    unclassified = routes - PUBLIC - ALLOWED.keys()
    assert not unclassified, f"add these routes to the access matrix: {sorted(unclassified)}"
    stale = (ALLOWED.keys() | PUBLIC) - routes
    assert not stale, f"the matrix names routes that no longer exist: {sorted(stale)}"


async def test_no_credentials_is_401(
    client: httpx.AsyncClient, tenant: Tenant, make_settings: SettingsFactory
) -> None:
    resources = await seed(make_settings, tenant)
    for op in PROTECTED:
        response = await call(client, op, resources.url(op.path), {})
        assert response.status_code == 401, f"{op.key} → {response.status_code}"
        assert response.json()["error"]["code"] == "unauthorized"


@pytest.mark.parametrize("role", list(Role))
async def test_roles(
    client: httpx.AsyncClient, tenant: Tenant, make_settings: SettingsFactory, role: Role
) -> None:
    resources = await seed(make_settings, tenant)
    for op in PROTECTED:
        headers = await fresh_headers(make_settings, tenant, role)
        response = await call(client, op, resources.url(op.path), headers)
        if role in ALLOWED[op.key]:
            assert response.status_code not in (401, 403), f"{role} {op.key}: {response.text}"
            assert response.status_code < 500, f"{role} {op.key}: {response.text}"
        else:
            assert response.status_code == 403, f"{role} {op.key} → {response.status_code}"
            assert response.json()["error"]["code"] == "forbidden"


async def test_other_organization_gets_404(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant, make_settings: SettingsFactory
) -> None:
    resources = await seed(make_settings, tenant)
    addressed = [op for op in PROTECTED if "{" in op.path]
    assert addressed, "the matrix should cover routes that address a resource"
    for op in addressed:
        headers = await fresh_headers(make_settings, other_tenant, Role.ADMIN)
        response = await call(client, op, resources.url(op.path), headers)
        assert response.status_code == 404, f"{op.key} → {response.status_code}: {response.text}"
        assert response.json()["error"]["code"] == "not_found"


async def scoped_key(make_settings: SettingsFactory, tenant: Tenant, scope: str) -> dict[str, str]:
    """A new API key of the organization's admin, limited to `scope`."""
    settings = make_settings()
    engine = create_engine(settings)
    secret = new_api_key()
    try:
        async with transaction(create_sessionmaker(engine, write=True)) as session:
            session.add(
                ApiKey(
                    user_id=tenant.admin.id,
                    organization_id=tenant.organization_id,
                    name=f"{scope} key",
                    prefix=secret[:12],
                    key_hash=digest(secret),
                    scopes=[scope],
                )
            )
    finally:
        await engine.dispose()
    return {"X-API-Key": secret}


@pytest.mark.parametrize("scope", SCOPE_ORDER)
async def test_api_key_scopes(
    client: httpx.AsyncClient, tenant: Tenant, make_settings: SettingsFactory, scope: str
) -> None:
    """An admin's key reaches exactly the routes its scope covers: 403 beyond it."""
    resources = await seed(make_settings, tenant)
    headers = await scoped_key(make_settings, tenant, scope)
    for op in PROTECTED:
        response = await call(client, op, resources.url(op.path), headers)
        needed = narrowest_scope(op.key)
        minting = op.key == ("POST", "/api/v1/api-keys")  # keys never mint keys
        if SCOPE_ORDER.index(scope) >= SCOPE_ORDER.index(needed) and not minting:
            assert response.status_code not in (401, 403), f"{scope} {op.key}: {response.text}"
            assert response.status_code < 500, f"{scope} {op.key}: {response.text}"
        else:
            assert response.status_code == 403, f"{scope} {op.key} → {response.status_code}"
            assert response.json()["error"]["code"] == "forbidden"


async def test_websocket_admits_every_role_and_scope_and_nothing_else(
    make_settings: SettingsFactory, tenant: Tenant, other_tenant: Tenant
) -> None:
    from tests.realtime.test_websocket import live_server
    from tests.realtime.test_websocket_access import closed_reason, open_socket

    credentials = [tenant[role].access_token for role in Role]
    for scope in SCOPE_ORDER:
        credentials.append((await scoped_key(make_settings, tenant, scope))["X-API-Key"])
    async with live_server(make_settings) as host:
        for credential in credentials:
            ws = await open_socket(host, credential)
            await ws.close()
        for forged in ("", "lxb_not-a-key", other_tenant.admin.access_token[:-4] + "abcd"):
            from websockets.asyncio.client import connect

            ws = await connect(f"ws://{host}/api/v1/ws")
            await ws.send(json.dumps({"type": "auth", "token": forged}))
            assert await closed_reason(ws) == "unauthorized"
