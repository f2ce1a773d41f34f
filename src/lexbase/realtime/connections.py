"""Caps on open WebSockets per user and per client address (per process)."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class ConnectionLimits:
    def __init__(self, per_user: int, per_address: int) -> None:
        self.per_user = per_user
        self.per_address = per_address
        self._users: Counter[str] = Counter()
        self._addresses: Counter[str] = Counter()

    def admit_address(self, address: str) -> bool:
        if self._addresses[address] >= self.per_address:
            return False
        self._addresses[address] += 1
        return True

    def release_address(self, address: str) -> None:
        _release(self._addresses, address)

    @asynccontextmanager
    async def user_slot(self, user_id: str) -> AsyncIterator[bool]:
        if self._users[user_id] >= self.per_user:
            yield False
            return
        self._users[user_id] += 1
        try:
            yield True
        finally:
            _release(self._users, user_id)

    def open_for(self, user_id: str) -> int:
        return self._users[user_id]


def _release(counter: Counter[str], key: str) -> None:
    counter[key] -= 1
    if counter[key] <= 0:
        del counter[key]
