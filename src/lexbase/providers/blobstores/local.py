"""Content-addressed blobs in a local directory: `<root>/<ab>/<cd>/<sha256>`."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import anyio

_KEY_RE = re.compile(r"^[0-9a-f]{64}$")


class BlobNotFound(KeyError):
    pass


class LocalBlobStore:
    name = "local"

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        if not _KEY_RE.match(key):
            raise ValueError("blob keys are SHA-256 hex digests")
        return self.root / key[:2] / key[2:4] / key

    def _write(self, key: str, data: bytes) -> None:
        path = self._path(key)
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename, so a crash never leaves a partial blob under its final name.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    async def put(self, data: bytes) -> str:
        key = hashlib.sha256(data).hexdigest()
        await anyio.to_thread.run_sync(self._write, key, data)
        return key

    async def get(self, key: str) -> bytes:
        try:
            return await anyio.Path(self._path(key)).read_bytes()
        except FileNotFoundError:
            raise BlobNotFound(key) from None

    async def exists(self, key: str) -> bool:
        return await anyio.Path(self._path(key)).exists()

    async def delete(self, key: str) -> None:
        await anyio.Path(self._path(key)).unlink(missing_ok=True)

    async def scan(self) -> AsyncIterator[list[tuple[str, datetime]]]:
        for first in await anyio.to_thread.run_sync(_subdirectories, self.root):
            for second in await anyio.to_thread.run_sync(_subdirectories, first):
                batch = await anyio.to_thread.run_sync(_blobs_in, second)
                if batch:
                    yield batch

    async def ping(self) -> None:
        def probe() -> None:
            self.root.mkdir(parents=True, exist_ok=True)
            marker = self.root / f".ready-{uuid.uuid4().hex}"
            marker.write_bytes(b"ok")
            try:
                if marker.read_bytes() != b"ok":
                    raise OSError("blob store read back different bytes")
            finally:
                marker.unlink(missing_ok=True)

        await anyio.to_thread.run_sync(probe)

    async def close(self) -> None:
        return None


def _subdirectories(path: Path) -> list[Path]:
    try:
        with os.scandir(path) as entries:
            return sorted(Path(e.path) for e in entries if e.is_dir() and len(e.name) == 2)
    except FileNotFoundError:
        return []


def _blobs_in(path: Path) -> list[tuple[str, datetime]]:
    found: list[tuple[str, datetime]] = []
    try:
        with os.scandir(path) as entries:
            for entry in entries:
                if _KEY_RE.match(entry.name):
                    try:
                        modified = entry.stat().st_mtime
                    except FileNotFoundError:
                        continue
                    found.append((entry.name, datetime.fromtimestamp(modified, UTC)))
    except FileNotFoundError:
        return []
    return found
