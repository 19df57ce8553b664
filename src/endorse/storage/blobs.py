"""The blob store interface, and the rule every backend applies to keys.

Keys are ``/``-separated relative paths (``metadata/3.snapshot.json``,
``targets/3f2a/requests/<sha256>.requests-2.32.3.tar.gz``). Every ``put`` is
atomic: a reader sees the old object or the whole new one, never a part.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from endorse.errors import StorageError

_KEY_RE = re.compile(r"^[A-Za-z0-9._+!-]+(/[A-Za-z0-9._+!-]+)*$")


@dataclass(frozen=True)
class BlobInfo:
    """What a listing says of one stored object."""

    key: str
    size: int
    modified: datetime


class BlobStore(Protocol):
    """Object storage for distribution files, listings and TUF metadata."""

    def put(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key`` atomically, replacing any old object."""
        ...

    def put_file(self, key: str, source: Path) -> None:
        """Store the content of a local file under ``key`` atomically."""
        ...

    def get(self, key: str) -> bytes:
        """Return an object's bytes; raise NotFound when there is none."""
        ...

    def exists(self, key: str) -> bool:
        """Whether an object is stored under ``key``."""
        ...

    def delete(self, key: str) -> None:
        """Remove an object (no error when it is already gone)."""
        ...

    def list(self, prefix: str) -> Iterator[BlobInfo]:
        """Every object whose key starts with ``prefix``."""
        ...

    def local_path(self, key: str) -> Path | None:
        """A local file holding the object, for zero-copy serving, or None."""
        ...

    def iter_bytes(self, key: str, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        """Stream an object's bytes; raise NotFound when there is none."""
        ...


def check_key(key: str) -> str:
    """Refuse keys that could escape the store (``..``, absolute, odd characters)."""
    if not _KEY_RE.fullmatch(key) or any(part in {".", ".."} for part in key.split("/")):
        raise StorageError(f"invalid storage key {key!r}")
    return key
