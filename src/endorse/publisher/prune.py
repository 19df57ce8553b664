"""Mark-and-sweep of superseded metadata and listings (never root).

Marked: everything the newest timestamp reaches (its snapshot and the version
of every role that snapshot lists). Swept: older versions of those roles, and
superseded listing or removed-file bytes, once they have been out of the
newest metadata for longer than the grace time, so a client that began an
update just before a batch can still finish it.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from endorse.metadata.roles import ROOT, SNAPSHOT
from endorse.metadata.storage_keys import METADATA_PREFIX, parse_metadata_key, target_key
from endorse.storage import BlobInfo, BlobStore
from endorse.storage.db import Database, queries
from endorse.storage.published import PublishedMetadata

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PruneResult:
    """How many stored objects a sweep removed."""

    metadata: int
    targets: int


def prune(store: BlobStore, db: Database | None, grace: timedelta) -> PruneResult:
    """Delete what the newest timestamp no longer reaches, after ``grace``."""
    published = PublishedMetadata(store, timestamp_ttl=0)
    if not published.is_initialised():
        return PruneResult(0, 0)
    now = datetime.now(UTC)
    snapshot = published.snapshot()
    current = {name[: -len(".json")]: meta.version for name, meta in snapshot.signed.meta.items()}
    current[SNAPSHOT] = snapshot.signed.version
    versions: dict[str, dict[int, BlobInfo]] = defaultdict(dict)
    for info in store.list(METADATA_PREFIX):
        parsed = parse_metadata_key(info.key)
        if parsed is not None:
            role, version = parsed
            versions[role][version] = info
    deleted_metadata = 0
    for role, found in versions.items():
        if role == ROOT or role not in current:
            continue
        newest = current[role]
        ordered = sorted(found)
        for i, version in enumerate(ordered):
            if version >= newest:
                break
            successor = found[ordered[i + 1]]
            if successor.modified + grace < now:
                store.delete(found[version].key)
                deleted_metadata += 1
    deleted_targets = _prune_targets(store, db, published, now - grace) if db else 0
    if deleted_metadata or deleted_targets:
        logger.info("pruned %d metadata and %d target files", deleted_metadata, deleted_targets)
    return PruneResult(deleted_metadata, deleted_targets)


def _prune_targets(
    store: BlobStore, db: Database, published: PublishedMetadata, cutoff: datetime
) -> int:
    deleted = 0
    with db.session() as session:
        for row in queries.superseded_before(session, cutoff):
            live = None
            if row.target_path:
                target = published.find_index_signed_target(row.target_path)
                live = target_key(row.target_path, target.hashes["sha256"]) if target else None
            if live != row.key:
                store.delete(row.key)
                deleted += 1
            session.delete(row)
    return deleted
