"""Shared steps of the auth tests: register a firm and sign in through the public API."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

PASSWORD = "Correct-Horse-Battery-9"


async def register(c: httpx.AsyncClient, email: str | None = None) -> dict[str, Any]:
    email = email or f"partner-{uuid.uuid4().hex[:8]}@firm.test"
    response = await c.post(
        "/api/v1/auth/register",
        json={
            "email": email,
            "password": PASSWORD,
            "full_name": "Pat Partner",
            "organization_name": "Partner & Co",
        },
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def login(c: httpx.AsyncClient, email: str, password: str = PASSWORD) -> dict[str, Any]:
    response = await c.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return dict(response.json())


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
