"""Refuse network access from processes that must never need it (the CPU workers).

Model and OCR runtimes have been seen making telemetry look-ups; a law firm's server must make
no connection it was not configured to make. Workers get every socket connection and DNS
look-up refused, except local Unix sockets.
"""

from __future__ import annotations

import socket
from typing import Any


class NetworkBlocked(OSError):
    pass


def _refuse(*_args: Any, **_kwargs: Any) -> Any:
    raise NetworkBlocked("network access is disabled in this worker process")


def deny_network() -> None:
    original_connect = socket.socket.connect
    original_connect_ex = socket.socket.connect_ex

    def connect(self: socket.socket, address: Any) -> None:
        if self.family == socket.AF_UNIX:
            original_connect(self, address)
            return
        _refuse()

    def connect_ex(self: socket.socket, address: Any) -> int:
        if self.family == socket.AF_UNIX:
            return original_connect_ex(self, address)
        _refuse()
        return 1

    socket.socket.connect = connect  # type: ignore[method-assign,assignment]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign,assignment]
    socket.getaddrinfo = _refuse
    socket.gethostbyname = _refuse
    socket.create_connection = _refuse
