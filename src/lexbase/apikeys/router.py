"""HTTP routes of the apikeys domain."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["apikeys"])
