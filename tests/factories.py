"""Test data written straight to the database, plus ready-made credentials per role."""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy.ext.asyncio import AsyncSession

from lexbase.auth.models import AuthSession, Organization
from lexbase.core.config import Settings
from lexbase.core.db import create_engine, create_sessionmaker, transaction, utcnow
from lexbase.core.permissions import Role
from lexbase.core.security import hash_password, issue_access_token
from lexbase.users.models import User

PASSWORD = "Correct-Horse-Battery-9"


@functools.cache
def password_hash() -> str:
    return hash_password(PASSWORD)


@dataclass
class TestUser:
    __test__ = False  # a fixture type, not a test class

    id: str
    email: str
    role: Role
    organization_id: str
    access_token: str
    password: str = PASSWORD

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


@dataclass
class Tenant:
    organization_id: str
    name: str
    users: dict[Role, TestUser] = field(default_factory=dict)

    def __getitem__(self, role: Role | str) -> TestUser:
        return self.users[Role(role)]

    @property
    def admin(self) -> TestUser:
        return self.users[Role.ADMIN]


async def add_user(
    session: AsyncSession, settings: Settings, organization_id: str, role: Role, label: str = ""
) -> TestUser:
    user = User(
        organization_id=organization_id,
        email=f"{role.value}{label}-{uuid.uuid4().hex[:8]}@firm.test",
        full_name=f"{role.value.title()} {label}".strip(),
        role=role.value,
        password_hash=password_hash(),
    )
    session.add(user)
    await session.flush()
    auth_session = AuthSession(
        user_id=user.id,
        organization_id=organization_id,
        expires_at=utcnow() + timedelta(days=1),
    )
    session.add(auth_session)
    await session.flush()
    token, _ = issue_access_token(
        settings, user_id=user.id, organization_id=organization_id, session_id=auth_session.id
    )
    return TestUser(user.id, user.email, role, organization_id, token)


async def create_tenant(settings: Settings, name: str = "Firm") -> Tenant:
    """An organization with one user of every role, each holding a live access token."""
    engine = create_engine(settings)
    try:
        async with transaction(create_sessionmaker(engine, write=True)) as session:
            organization = Organization(name=f"{name} {uuid.uuid4().hex[:6]}")
            session.add(organization)
            await session.flush()
            tenant = Tenant(organization.id, organization.name)
            for role in Role:
                tenant.users[role] = await add_user(session, settings, organization.id, role)
    finally:
        await engine.dispose()
    return tenant


def document_row(organization_id: str, matter_id: str | None = None) -> dict[str, Any]:
    """An indexed document's columns, for inserting search fixtures without the pipeline."""
    return {
        "id": str(uuid.uuid4()),
        "organization_id": organization_id,
        "matter_id": matter_id,
        "title": "t",
        "filename": "t.txt",
        "content_type": "text/plain",
        "kind": "text",
        "size_bytes": 1,
        "sha256": uuid.uuid4().hex * 2,
        "blob_key": "0" * 64,
        "status": "indexed",
        "tags": [],
        "legal_metadata": {},
    }


def chunk_row(
    document: dict[str, Any],
    ordinal: int,
    text: str,
    embedding: NDArray[np.float32] | None = None,
    model: str | None = None,
) -> dict[str, Any]:
    """A chunk of `document` (a `document_row`) with the document's tenant and matter."""
    return {
        "id": str(uuid.uuid4()),
        "document_id": document["id"],
        "organization_id": document["organization_id"],
        "matter_id": document["matter_id"],
        "ordinal": ordinal,
        "start": 0,
        "end": len(text),
        "text": text,
        "embedding": embedding,
        "embedding_model": model,
    }
