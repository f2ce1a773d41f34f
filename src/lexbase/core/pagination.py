"""List pagination per API.md: `?limit=&offset=` or `?cursor=`; `{items, total, next_cursor}`."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel

from lexbase.core.errors import ValidationFailed
from lexbase.core.repository import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

ItemT = TypeVar("ItemT")

# Deeper pages are refused: an offset makes the database walk every row before it, and an
# unbounded one overflows the 64-bit integer both backends bind (a 500 instead of a 422).
MAX_OFFSET = 1_000_000

_CURSOR_RE = re.compile(r"o:(0|[1-9][0-9]{0,6})")


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
        # A cursor past the deepest page would only be refused when presented.
        if following >= total or following > MAX_OFFSET:
            return None
        return encode_cursor(following)


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    invalid = ValidationFailed(
        "Invalid cursor", details=[{"loc": ["query", "cursor"], "message": "invalid cursor"}]
    )
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except ValueError:
        raise invalid from None
    match = _CURSOR_RE.fullmatch(raw)
    if match is None or int(match[1]) > MAX_OFFSET:
        raise invalid
    return int(match[1])


async def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> PageParams:
    return PageParams(limit=limit, offset=decode_cursor(cursor) if cursor else offset)


PageDep = Annotated[PageParams, Depends(page_params)]
