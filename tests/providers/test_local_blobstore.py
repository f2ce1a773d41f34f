"""The content-addressed local blob store."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from lexbase.providers.blobstores.local import BlobNotFound, LocalBlobStore


async def test_put_is_content_addressed_and_idempotent(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    data = b"%PDF-1.7 pretend filing"
    key = await store.put(data)
    assert key == hashlib.sha256(data).hexdigest()
    assert await store.put(data) == key
    assert await store.get(key) == data
    assert await store.exists(key)
    stored = tmp_path / "blobs" / key[:2] / key[2:4] / key
    assert stored.read_bytes() == data
    assert [p.name for p in stored.parent.iterdir()] == [key]  # no temp files left behind


async def test_delete_then_missing(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    key = await store.put(b"x")
    await store.delete(key)
    assert not await store.exists(key)
    with pytest.raises(BlobNotFound):
        await store.get(key)
    await store.delete(key)  # deleting twice is fine


@pytest.mark.parametrize("key", ["../../etc/passwd", "ABC", "0" * 63, "g" * 64])
async def test_keys_other_than_digests_refused(tmp_path: Path, key: str) -> None:
    store = LocalBlobStore(tmp_path)
    with pytest.raises(ValueError, match="SHA-256"):
        await store.get(key)


async def test_ping_fails_when_root_is_not_a_directory(tmp_path: Path) -> None:
    root = tmp_path / "blobs"
    root.write_text("not a directory")
    with pytest.raises(FileExistsError):
        await LocalBlobStore(root).ping()
    await LocalBlobStore(tmp_path / "ok").ping()


async def test_scan_lists_every_blob_with_its_age(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    keys = {await store.put(f"blob {n}".encode()) for n in range(5)}
    (tmp_path / "ab").mkdir(exist_ok=True)
    (tmp_path / "ab" / "stray.txt").write_text("not a blob")
    listed = [entry async for batch in store.scan() for entry in batch]
    assert {key for key, _ in listed} == keys
    assert all(modified.tzinfo is not None for _, modified in listed)
