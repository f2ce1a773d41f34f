"""The hash chain: a canonical serialization of each event and its SHA-256 link."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

# The fields an event's hash covers, in a fixed order; `hash` itself is excluded.
HASHED_FIELDS = (
    "id",
    "chain",
    "seq",
    "organization_id",
    "created_at",
    "event_type",
    "actor_id",
    "actor_type",
    "resource_type",
    "resource_id",
    "ip",
    "request_id",
    "details",
    "prev_hash",
)


def _timestamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(fields: dict[str, Any]) -> bytes:
    """Sorted-key, whitespace-free JSON of the hashed fields (timestamps in UTC, µs)."""
    body = {
        name: _timestamp(fields[name]) if isinstance(fields[name], datetime) else fields[name]
        for name in HASHED_FIELDS
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def event_hash(fields: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(fields)).hexdigest()
