"""List pagination per API.md: `?limit=&offset=` or `?cursor=`; `{items, total, next_cursor}`."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel

from lexbase.core.errors import ValidationFailed
from lexbase.core.repository import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

ItemT = TypeVar("ItemT")


class Page(BaseModel, Generic[ItemT]):
    items: list[ItemT]
    total: int
    next_cursor: str | None = None


@dataclass(frozen=True)
class PageParams:
    limit: int
    offset: int

    def next_cursor(self, total: int) -> str | None:
        following = self.offset + self.limit
        return encode_cursor(following) if following < total else None


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, value = raw.split(":", 1)
        offset = int(value)
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed(
            "Invalid cursor", details=[{"loc": ["query", "cursor"], "message": "invalid cursor"}]
        ) from None
    if kind != "o" or offset < 0:
        raise ValidationFailed("Invalid cursor")
    return offset


def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    offset: Annotated[int, Query(ge=0)] = 0,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> PageParams:
    return PageParams(limit=limit, offset=decode_cursor(cursor) if cursor else offset)


PageDep = Annotated[PageParams, Depends(page_params)]
