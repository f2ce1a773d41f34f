"""Content-addressed blobs in an S3-compatible bucket: `<prefix><ab>/<cd>/<sha256>`."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import io
import re
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, TypeVar

import boto3
import structlog
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from lexbase.core.blobs import BlobStoreUnavailable
from lexbase.core.config import Settings
from lexbase.providers.blobstores.local import BlobNotFound

log = structlog.get_logger(__name__)

_KEY_RE = re.compile(r"^[0-9a-f]{64}$")
_MISSING_OBJECT = frozenset({"404", "NoSuchKey", "NotFound"})
_MISSING_BUCKET = frozenset({"404", "NoSuchBucket", "NotFound"})

# botocore clients are thread-safe; each worker thread may run a multipart transfer that
# uses up to _PART_CONCURRENCY connections of its own.
_WORKERS = 8
_PART_CONCURRENCY = 4
_MIB = 1024 * 1024

T = TypeVar("T")


class BucketMissing(RuntimeError):
    """The configured bucket does not exist and creating it is not allowed."""


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class S3BlobStore:
    name = "s3"

    def __init__(
        self,
        bucket: str,
        *,
        key_prefix: str = "",
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        create_bucket: bool = False,
    ) -> None:
        self.bucket = bucket
        self.key_prefix = f"{key_prefix.strip('/')}/" if key_prefix.strip("/") else ""
        self.region = region
        self.create_bucket = create_bucket
        self._bucket_checked = False
        config = Config(
            region_name=region,
            connect_timeout=5,
            read_timeout=60,
            retries={"mode": "standard", "total_max_attempts": 3},
            max_pool_connections=_WORKERS * _PART_CONCURRENCY,
            # Other S3 servers (MinIO, GCS interop) rarely serve virtual-hosted buckets.
            s3={"addressing_style": "path"} if endpoint_url else None,
            # Several S3-compatible servers reject botocore's default CRC trailers; keys are
            # SHA-256 digests, so reads are verified against the key instead.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        # Unset credentials fall through to boto3's usual chain (environment, profile, role).
        self._client: Any = boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint_url,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            config=config,
        )
        self._transfer = TransferConfig(
            multipart_threshold=8 * _MIB,
            multipart_chunksize=8 * _MIB,
            max_concurrency=_PART_CONCURRENCY,
            use_threads=True,
        )
        self._executor = ThreadPoolExecutor(max_workers=_WORKERS, thread_name_prefix="lexbase-s3")

    @classmethod
    def from_settings(cls, settings: Settings) -> S3BlobStore:
        assert settings.s3_bucket is not None  # enforced by Settings validation
        key_id, secret = settings.s3_access_key_id, settings.s3_secret_access_key
        return cls(
            settings.s3_bucket,
            key_prefix=settings.s3_key_prefix,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key_id=key_id.get_secret_value() if key_id else None,
            secret_access_key=secret.get_secret_value() if secret else None,
            create_bucket=settings.s3_create_bucket,
        )

    def object_key(self, key: str) -> str:
        if not _KEY_RE.match(key):
            raise ValueError("blob keys are SHA-256 hex digests")
        return f"{self.key_prefix}{key[:2]}/{key[2:4]}/{key}"

    async def _run(self, fn: Callable[..., T], *args: object) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, functools.partial(fn, *args))
        except (BotoConnectionError, HTTPClientError) as exc:
            raise BlobStoreUnavailable(f"the S3 endpoint did not answer: {exc}") from exc

    def _check_bucket(self) -> None:
        try:
            self._client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            if _error_code(exc) not in _MISSING_BUCKET:
                raise
            if not self.create_bucket:
                raise BucketMissing(
                    f"S3 bucket {self.bucket!r} does not exist "
                    "(create it, or set LEXBASE_S3_CREATE_BUCKET=true)"
                ) from None
            self._create()
        self._bucket_checked = True

    def _create(self) -> None:
        options: dict[str, Any] = {"Bucket": self.bucket}
        if self.region != "us-east-1":
            options["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        try:
            self._client.create_bucket(**options)
        except ClientError as exc:
            if _error_code(exc) != "BucketAlreadyOwnedByYou":
                raise
            return
        log.info("blobs.bucket_created", bucket=self.bucket)

    def _exists(self, object_key: str) -> bool:
        try:
            self._client.head_object(Bucket=self.bucket, Key=object_key)
        except ClientError as exc:
            if _error_code(exc) in _MISSING_OBJECT:
                return False
            raise
        return True

    def _delete(self, object_key: str) -> None:
        # DeleteObject succeeds whether or not the object exists.
        self._client.delete_object(Bucket=self.bucket, Key=object_key)

    def _put(self, data: bytes) -> str:
        key = hashlib.sha256(data).hexdigest()
        object_key = self.object_key(key)
        if self.create_bucket and not self._bucket_checked:
            self._check_bucket()
        if self._exists(object_key):
            return key
        # Large blobs go up in parts, a few at a time, rather than in one huge request.
        self._client.upload_fileobj(
            io.BytesIO(data),
            self.bucket,
            object_key,
            ExtraArgs={"ContentType": "application/octet-stream"},
            Config=self._transfer,
        )
        return key

    def _get(self, key: str) -> bytes:
        object_key = self.object_key(key)
        try:
            response = self._client.get_object(Bucket=self.bucket, Key=object_key)
        except ClientError as exc:
            if _error_code(exc) in _MISSING_OBJECT:
                raise BlobNotFound(key) from None
            raise
        body = response["Body"]
        try:
            data: bytes = body.read()
        finally:
            body.close()
        if hashlib.sha256(data).hexdigest() != key:
            raise OSError(f"blob {key} read back with a different digest")
        return data

    async def put(self, data: bytes) -> str:
        return await self._run(self._put, data)

    async def get(self, key: str) -> bytes:
        return await self._run(self._get, key)

    async def exists(self, key: str) -> bool:
        return await self._run(self._exists, self.object_key(key))

    async def delete(self, key: str) -> None:
        await self._run(self._delete, self.object_key(key))

    def _list_page(self, token: str | None) -> tuple[list[tuple[str, datetime]], str | None]:
        options: dict[str, Any] = {"Bucket": self.bucket, "Prefix": self.key_prefix}
        if token is not None:
            options["ContinuationToken"] = token
        response = self._client.list_objects_v2(**options)
        batch = []
        for item in response.get("Contents", []):
            key = str(item["Key"]).rsplit("/", 1)[-1]
            if _KEY_RE.match(key) and item["Key"] == self.object_key(key):
                batch.append((key, item["LastModified"]))
        following = response.get("NextContinuationToken") if response.get("IsTruncated") else None
        return batch, following

    async def scan(self) -> AsyncIterator[list[tuple[str, datetime]]]:
        token: str | None = None
        while True:
            batch, token = await self._run(self._list_page, token)
            if batch:
                yield batch
            if token is None:
                return

    async def ping(self) -> None:
        await self._run(self._check_bucket)

    async def close(self) -> None:
        # Let in-flight calls (e.g. deletions scheduled after a commit) finish first.
        await asyncio.to_thread(self._executor.shutdown, True)
        self._client.close()
