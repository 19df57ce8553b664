"""A blob store on S3-compatible object storage (AWS S3, MinIO, Ceph, R2)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from endorse.errors import NotFound, StorageError
from endorse.storage.blobs import BlobInfo, check_key


class S3BlobStore:
    """Objects in one bucket under an optional key prefix.

    A single PUT is atomic in S3, which is all the publisher needs: metadata is
    written bottom-up and ``timestamp.json`` last.
    """

    def __init__(self, bucket: str, prefix: str = "", endpoint_url: str | None = None) -> None:
        try:
            import boto3
        except ImportError as e:  # pragma: no cover - depends on the install
            raise StorageError("S3 storage needs boto3", hint="pip install 'endorse[s3]'") from e
        if not bucket:
            raise StorageError("S3 storage URL has no bucket", hint="use s3://BUCKET/PREFIX")
        self.bucket = bucket
        self.prefix = f"{prefix}/" if prefix else ""
        self._client: Any = boto3.client("s3", endpoint_url=endpoint_url)

    def _key(self, key: str) -> str:
        return self.prefix + check_key(key)

    def put(self, key: str, data: bytes) -> None:
        """Upload an object."""
        self._client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    def put_file(self, key: str, source: Path) -> None:
        """Upload a local file (multipart for large files)."""
        self._client.upload_file(str(source), self.bucket, self._key(key))

    def get(self, key: str) -> bytes:
        """Download an object."""
        try:
            response = self._client.get_object(Bucket=self.bucket, Key=self._key(key))
        except self._client.exceptions.NoSuchKey as e:
            raise NotFound(f"no stored object {key!r}") from e
        body: bytes = response["Body"].read()
        return body

    def exists(self, key: str) -> bool:
        """Whether the object exists (HEAD)."""
        from botocore.exceptions import ClientError

        try:
            self._client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return False
            raise
        return True

    def delete(self, key: str) -> None:
        """Delete an object."""
        self._client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def list(self, prefix: str) -> Iterator[BlobInfo]:
        """List objects under a prefix."""
        paginator = self._client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
            for item in page.get("Contents", []):
                key = item["Key"][len(self.prefix) :]
                yield BlobInfo(key, int(item["Size"]), item["LastModified"])

    def local_path(self, key: str) -> Path | None:
        """S3 objects have no local file."""
        return None

    def iter_bytes(self, key: str, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        """Stream an object."""
        try:
            response = self._client.get_object(Bucket=self.bucket, Key=self._key(key))
        except self._client.exceptions.NoSuchKey as e:
            raise NotFound(f"no stored object {key!r}") from e
        yield from response["Body"].iter_chunks(chunk_size)
