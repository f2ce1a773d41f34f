"""HTTP routes of the matters domain."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["matters"])
