"""A blob store in memory: the fast test tier's storage, and a reference for the protocol.

Nothing is durable: the objects live as long as the store. Every ``put``
replaces a whole object under a lock, so a reader sees the old bytes or the
new ones, never a part, as the protocol asks of every backend.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from endorse.errors import NotFound
from endorse.storage.blobs import BlobInfo, check_key


class InMemoryBlobStore:
    """Objects in a dictionary, keyed and checked like every other backend."""

    def __init__(self) -> None:
        self._objects: dict[str, tuple[bytes, datetime]] = {}
        self._lock = threading.Lock()

    def put(self, key: str, data: bytes) -> None:
        """Store ``data`` (a copy: later changes to the caller's buffer do not leak in)."""
        stored = bytes(data)
        with self._lock:
            self._objects[check_key(key)] = (stored, datetime.now(UTC))

    def put_file(self, key: str, source: Path) -> None:
        """Store the content of a local file."""
        self.put(key, source.read_bytes())

    def get(self, key: str) -> bytes:
        """An object's bytes."""
        with self._lock:
            entry = self._objects.get(check_key(key))
        if entry is None:
            raise NotFound(f"no stored object {key!r}")
        return entry[0]

    def exists(self, key: str) -> bool:
        """Whether the object exists."""
        with self._lock:
            return check_key(key) in self._objects

    def delete(self, key: str) -> None:
        """Remove the object if present."""
        with self._lock:
            self._objects.pop(check_key(key), None)

    def list(self, prefix: str) -> Iterator[BlobInfo]:
        """Objects whose key starts with ``prefix``, in key order."""
        with self._lock:
            items = sorted((k, v) for k, v in self._objects.items() if k.startswith(prefix))
        for key, (data, modified) in items:
            yield BlobInfo(key, len(data), modified)

    def local_path(self, key: str) -> Path | None:
        """Objects in memory have no local file."""
        return None

    def iter_bytes(self, key: str, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        """Stream the object in chunks."""
        data = self.get(key)
        for start in range(0, len(data), chunk_size):
            yield data[start : start + chunk_size]
