"""A read-only view of the newest published TUF metadata in a blob store.

The web face answers Simple API and target requests from here, so that what it
serves is always what the newest timestamp covers: a listing becomes visible
exactly when the metadata that signs it is published, never before or after.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from typing import TypeVar, cast

from tuf.api.metadata import Metadata, Root, Snapshot, TargetFile, Targets, Timestamp

from endorse.errors import NotFound
from endorse.metadata.layout import bin_for
from endorse.metadata.roles import SNAPSHOT, UNCLAIMED
from endorse.metadata.storage_keys import ROOT_KEY, TIMESTAMP_KEY, metadata_key
from endorse.storage.blobs import BlobStore

T = TypeVar("T", Targets, Snapshot)


class PublishedMetadata:
    """Reads published metadata; caches immutable versions, re-reads timestamp."""

    def __init__(
        self, store: BlobStore, *, timestamp_ttl: float = 0.25, cache_size: int = 256
    ) -> None:
        self.store = store
        self.timestamp_ttl = timestamp_ttl
        self.cache_size = cache_size
        self._lock = threading.Lock()
        self._timestamp: Metadata[Timestamp] | None = None
        self._timestamp_read = 0.0
        self._cache: OrderedDict[tuple[str, int], Metadata[Targets] | Metadata[Snapshot]] = (
            OrderedDict()
        )

    def timestamp(self) -> Metadata[Timestamp]:
        """The newest timestamp (re-read at most every ``timestamp_ttl`` seconds)."""
        with self._lock:
            now = time.monotonic()
            if self._timestamp is None or now - self._timestamp_read > self.timestamp_ttl:
                raw = self.store.get(TIMESTAMP_KEY)
                self._timestamp = Metadata[Timestamp].from_bytes(raw)
                self._timestamp_read = now
            return self._timestamp

    def forget_timestamp(self) -> None:
        """Read ``timestamp.json`` again on the next call (a batch was just published)."""
        with self._lock:
            self._timestamp = None

    def is_initialised(self) -> bool:
        """Whether any timestamp has been published (the last step of initialisation)."""
        return self.store.exists(TIMESTAMP_KEY)

    def root(self) -> Metadata[Root]:
        """The newest root (``metadata/root.json``)."""
        return Metadata[Root].from_bytes(self.store.get(ROOT_KEY))

    def root_sha256(self) -> str:
        """SHA-256 of the newest root, to check a client's root out of band."""
        return hashlib.sha256(self.store.get(ROOT_KEY)).hexdigest()

    def snapshot(self) -> Metadata[Snapshot]:
        """The snapshot the newest timestamp names."""
        version = self.timestamp().signed.snapshot_meta.version
        return self._load(SNAPSHOT, version, Snapshot)

    def role(self, name: str) -> Metadata[Targets]:
        """The version of a targets role that the newest snapshot names."""
        meta = self.snapshot().signed.meta.get(f"{name}.json")
        if meta is None:
            raise NotFound(f"role {name!r} is not in the newest snapshot")
        return self._load(name, meta.version, Targets)

    def find_index_signed_target(self, target_path: str) -> TargetFile | None:
        """Look a target up in its hashed bin under ``unclaimed``."""
        unclaimed = self.role(UNCLAIMED).signed
        return self.role(bin_for(unclaimed, target_path)).signed.targets.get(target_path)

    def _load(self, role: str, version: int, kind: type[T]) -> Metadata[T]:
        key = (role, version)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                # The cache holds only what _load put there for this role kind.
                return cast(Metadata[T], cached)
        md = Metadata[T].from_bytes(self.store.get(metadata_key(role, version)))
        if not isinstance(md.signed, kind):
            raise NotFound(f"{metadata_key(role, version)} is not {kind.type} metadata")
        with self._lock:
            self._cache[key] = md
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return md
