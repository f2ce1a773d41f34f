"""The S3 blob store, against a real S3-compatible server (moto) on 127.0.0.1."""

from __future__ import annotations

import asyncio
import hashlib
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import boto3
import pytest

from lexbase.app import create_app
from lexbase.core.config import ConfigurationError, Settings, load_settings
from lexbase.providers.blobstores.local import BlobNotFound
from lexbase.providers.blobstores.s3 import BucketMissing, S3BlobStore
from tests.conftest import SettingsFactory, running
from tests.documents.helpers import upload, wait_done
from tests.factories import Tenant
from tests.support.services import MotoServer

StoreFactory = Callable[..., S3BlobStore]


def _layout(key: str, prefix: str = "") -> str:
    return f"{prefix}{key[:2]}/{key[2:4]}/{key}"


@pytest.fixture
def s3(moto_server: MotoServer) -> Iterator[Any]:
    """A plain boto3 client, to look at the bucket independently of the store."""
    client = boto3.session.Session().client(
        "s3",
        endpoint_url=moto_server.url,
        region_name=moto_server.region,
        aws_access_key_id=moto_server.access_key_id,
        aws_secret_access_key=moto_server.secret_access_key,
    )
    yield client
    client.close()


def _new_bucket_name() -> str:
    return f"lexbase-{uuid.uuid4().hex[:16]}"


@pytest.fixture
def bucket(s3: Any) -> str:
    name = _new_bucket_name()
    s3.create_bucket(Bucket=name)
    return name


def _keys(s3: Any, bucket: str) -> list[str]:
    listing = s3.list_objects_v2(Bucket=bucket)
    return sorted(item["Key"] for item in listing.get("Contents", []))


@pytest.fixture
async def make_store(moto_server: MotoServer, bucket: str) -> AsyncIterator[StoreFactory]:
    stores: list[S3BlobStore] = []

    def factory(**overrides: Any) -> S3BlobStore:
        options: dict[str, Any] = {
            "bucket": bucket,
            "endpoint_url": moto_server.url,
            "region": moto_server.region,
            "access_key_id": moto_server.access_key_id,
            "secret_access_key": moto_server.secret_access_key,
        }
        options.update(overrides)
        store = S3BlobStore(options.pop("bucket"), **options)
        stores.append(store)
        return store

    yield factory
    for store in stores:
        await store.close()


async def test_round_trip_is_content_addressed(
    make_store: StoreFactory, s3: Any, bucket: str
) -> None:
    store = make_store()
    data = b"%PDF-1.7 pretend filing"
    key = await store.put(data)
    assert key == hashlib.sha256(data).hexdigest()
    assert await store.get(key) == data
    assert await store.exists(key)
    assert _keys(s3, bucket) == [_layout(key)]
    assert s3.get_object(Bucket=bucket, Key=_layout(key))["Body"].read() == data


async def test_multi_megabyte_blob_goes_up_in_parts(
    make_store: StoreFactory, s3: Any, bucket: str
) -> None:
    store = make_store()
    data = os.urandom(20 * 1024 * 1024 + 123)
    key = await store.put(data)
    assert await store.get(key) == data
    # A multipart upload's ETag ends with the number of parts (8 MiB each here).
    etag = s3.head_object(Bucket=bucket, Key=_layout(key))["ETag"].strip('"')
    assert etag.endswith("-3")


async def test_put_of_stored_content_uploads_nothing(
    make_store: StoreFactory, s3: Any, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = make_store()
    data = b"the same filing, twice"
    key = await store.put(data)

    def no_upload(*args: object, **kwargs: object) -> None:
        raise AssertionError("content already stored was uploaded again")

    monkeypatch.setattr(store._client, "upload_fileobj", no_upload)
    assert await store.put(data) == key
    assert _keys(s3, bucket) == [_layout(key)]


async def test_delete_then_missing(make_store: StoreFactory, s3: Any, bucket: str) -> None:
    store = make_store()
    key = await store.put(b"x")
    await store.delete(key)
    assert not await store.exists(key)
    assert _keys(s3, bucket) == []
    with pytest.raises(BlobNotFound):
        await store.get(key)
    await store.delete(key)  # deleting twice is fine


async def test_key_prefix_is_respected(make_store: StoreFactory, s3: Any, bucket: str) -> None:
    store = make_store(key_prefix="/tenant-a/blobs/")
    data = b"prefixed"
    key = await store.put(data)
    assert _keys(s3, bucket) == [_layout(key, "tenant-a/blobs/")]
    assert await store.get(key) == data
    assert not await make_store().exists(key)  # the unprefixed location stays empty


async def test_scan_lists_the_stores_blobs_only(
    make_store: StoreFactory, s3: Any, bucket: str
) -> None:
    store = make_store(key_prefix="tenant-a/")
    keys = {await store.put(f"blob {n}".encode()) for n in range(3)}
    await make_store(key_prefix="tenant-b/").put(b"another store's blob")
    s3.put_object(Bucket=bucket, Key="tenant-a/notes.txt", Body=b"not a blob")
    listed = [entry async for batch in store.scan() for entry in batch]
    assert {key for key, _ in listed} == keys
    assert all(modified.tzinfo is not None for _, modified in listed)


@pytest.mark.parametrize("key", ["../../etc/passwd", "ABC", "0" * 63, "g" * 64])
async def test_keys_other_than_digests_refused(make_store: StoreFactory, key: str) -> None:
    store = make_store()
    with pytest.raises(ValueError, match="SHA-256"):
        await store.get(key)
    with pytest.raises(ValueError, match="SHA-256"):
        await store.delete(key)


async def test_read_is_checked_against_the_key(
    make_store: StoreFactory, s3: Any, bucket: str
) -> None:
    store = make_store()
    key = await store.put(b"original bytes")
    s3.put_object(Bucket=bucket, Key=_layout(key), Body=b"tampered bytes")
    with pytest.raises(OSError, match="different digest"):
        await store.get(key)


async def test_ping_fails_for_missing_bucket_until_it_exists(
    make_store: StoreFactory, s3: Any
) -> None:
    name = _new_bucket_name()
    store = make_store(bucket=name)
    with pytest.raises(BucketMissing, match=name):
        await store.ping()
    s3.create_bucket(Bucket=name)
    await store.ping()


async def test_bucket_created_only_when_allowed(make_store: StoreFactory, s3: Any) -> None:
    name = _new_bucket_name()
    store = make_store(bucket=name, create_bucket=True)
    key = await store.put(b"first blob into a new bucket")
    assert _keys(s3, name) == [_layout(key)]
    await store.ping()


def test_s3_backend_requires_a_bucket() -> None:
    with pytest.raises(ConfigurationError) as info:
        load_settings(_env_file=None, blob_backend="s3")
    message = str(info.value)
    assert "LEXBASE_S3_BUCKET" in message
    assert "\n" not in message


def test_s3_credentials_stay_secret() -> None:
    settings = load_settings(
        _env_file=None,
        blob_backend="s3",
        s3_bucket="b",
        s3_access_key_id="AKIAEXAMPLEKEYID0000",
        s3_secret_access_key="wJalrXUtnFEMI-K7MDENG-bPxRfiCYzEXAMPLEKEY",
    )
    assert "wJalrXUtnFEMI" not in repr(settings)
    with pytest.raises(ConfigurationError, match="LEXBASE_S3_SECRET_ACCESS_KEY"):
        load_settings(_env_file=None, blob_backend="s3", s3_bucket="b", s3_access_key_id="AKIAONLY")


def _s3_settings(
    make_settings: SettingsFactory, moto_server: MotoServer, bucket: str, **overrides: Any
) -> Settings:
    return make_settings(
        blob_backend="s3",
        s3_bucket=bucket,
        s3_endpoint_url=moto_server.url,
        s3_region=moto_server.region,
        s3_access_key_id=moto_server.access_key_id,
        s3_secret_access_key=moto_server.secret_access_key,
        **overrides,
    )


async def test_readiness_reports_a_missing_bucket(
    make_settings: SettingsFactory, moto_server: MotoServer
) -> None:
    # Time to spare: what this tests is the missing bucket, not a loaded machine's slow S3.
    settings = _s3_settings(
        make_settings, moto_server, _new_bucket_name(), ready_timeout_seconds=15
    )
    async with running(create_app(settings)) as c:
        response = await c.get("/health/ready")
    assert response.status_code == 503
    storage = response.json()["checks"]["storage"]
    assert storage == {
        "status": "down",
        "latency_ms": storage["latency_ms"],
        "error": "BucketMissing",
    }


async def test_documents_are_stored_in_the_bucket(
    make_settings: SettingsFactory,
    moto_server: MotoServer,
    s3: Any,
    bucket: str,
    tenant: Tenant,
) -> None:
    # Readiness gets time to spare: a loaded machine's slow S3 answer is not what this tests.
    settings = _s3_settings(
        make_settings, moto_server, bucket, s3_key_prefix="lexbase", ready_timeout_seconds=15
    )
    headers = tenant["paralegal"].headers
    data = b"Motion to compel, stored in S3.\n"
    key = hashlib.sha256(data).hexdigest()
    async with running(create_app(settings)) as c:
        assert (await c.get("/health/ready")).json()["checks"]["storage"]["status"] == "ok"
        accepted = await upload(c, headers, data, "motion.txt")
        document_id = accepted["document"]["id"]
        await wait_done(c, headers, document_id)  # the job is done with the blob
        assert _keys(s3, bucket) == [_layout(key, "lexbase/")]
        file = await c.get(f"/api/v1/documents/{document_id}/file", headers=headers)
        assert file.status_code == 200
        assert file.content == data
        deleted = await c.delete(f"/api/v1/documents/{document_id}", headers=headers)
        assert deleted.status_code == 204
        for _ in range(100):  # the bytes go after the commit, in the background
            if not _keys(s3, bucket):
                break
            await asyncio.sleep(0.05)
    assert _keys(s3, bucket) == []
