"""How a storage URL picks a blob store backend."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from endorse.errors import ConfigError
from endorse.storage.blobs import BlobStore
from endorse.storage.local import LocalBlobStore
from endorse.storage.s3 import S3BlobStore


def open_blob_store(storage_url: str, *, s3_endpoint_url: str = "") -> BlobStore:
    """Open the backend a storage URL names: ``file:///path`` or ``s3://bucket/prefix``."""
    parsed = urlparse(storage_url)
    if parsed.scheme == "file":
        return LocalBlobStore(Path(parsed.path))
    if parsed.scheme == "s3":
        return S3BlobStore(
            bucket=parsed.netloc,
            prefix=parsed.path.strip("/"),
            endpoint_url=s3_endpoint_url or None,
        )
    raise ConfigError(
        f"Config 'ENDORSE_STORAGE_URL' has value {storage_url!r}. Not a file:// or s3:// URL."
    )
