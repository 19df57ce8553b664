"""Create a new repository: keys (demo only), root, targets, delegations, bins."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from tuf.api.metadata import Metadata, Snapshot, Targets, Timestamp

from endorse.clock import Clock
from endorse.metadata.layout import (
    KeySet,
    RepositoryKeys,
    bin_names,
    new_project_parent,
    new_root,
    new_targets,
    new_unclaimed,
)
from endorse.metadata.roles import (
    CLAIMED,
    RECENTLY_CLAIMED,
    ROOT,
    SNAPSHOT,
    TARGETS,
    TIMESTAMP,
    UNCLAIMED,
)
from endorse.publisher.keyring import (
    DEMO_WARNING,
    OFFLINE_KINDS,
    ONLINE_KINDS,
    Keyring,
    generate_file_keys,
)
from endorse.publisher.repository import StoredRepository
from endorse.settings import Settings
from endorse.storage import BlobStore
from endorse.storage.published import PublishedMetadata

logger = logging.getLogger(__name__)

ONLINE_KEYRING = "online.json"
OFFLINE_KEYRING = "offline-DEMO-NOT-FOR-PRODUCTION.json"


@dataclass(frozen=True)
class InitResult:
    """What ``initialise_repository`` did."""

    created: bool
    root_sha256: str
    bin_count: int


def generate_demo_keyrings(settings: Settings) -> tuple[Keyring, Keyring]:
    """Generate online and (demo) offline key files inside ``data_dir/keys``."""
    online = generate_file_keys(settings.keys_dir / "online", ONLINE_KINDS)
    online.save(settings.keys_dir / ONLINE_KEYRING)
    offline = generate_file_keys(
        settings.keys_dir / "offline-DEMO-NOT-FOR-PRODUCTION", OFFLINE_KINDS
    )
    offline.save(settings.keys_dir / OFFLINE_KEYRING, note=DEMO_WARNING)
    return online, offline


def repository_keys(online: Keyring, offline: Keyring) -> RepositoryKeys:
    """The public keys of each role from the two keyrings."""
    return RepositoryKeys(
        root=KeySet(offline.public_keys("root")),
        targets=KeySet(offline.public_keys("targets")),
        claimed=KeySet(offline.public_keys("claimed")),
        snapshot=KeySet(online.public_keys("snapshot")),
        timestamp=KeySet(online.public_keys("timestamp")),
        recently_claimed=KeySet(online.public_keys("recently_claimed")),
        unclaimed=KeySet(online.public_keys("unclaimed")),
        bins=KeySet(online.public_keys("bins")),
    )


def initialise_repository(
    settings: Settings,
    store: BlobStore,
    online: Keyring,
    offline: Keyring,
    clock: Clock,
    progress: Callable[[int, int], None] | None = None,
) -> InitResult:
    """Write version 1 of every role; the timestamp last, so a crash can be re-run."""
    published = PublishedMetadata(store, timestamp_ttl=0)
    if published.is_initialised():
        return InitResult(False, published.root_sha256(), settings.bin_count)
    keys = repository_keys(online, offline)
    merged = Keyring({**online.entries, **offline.entries})
    repo = StoredRepository(store, merged, settings.expiry, clock)
    now = clock.now()
    expiry = settings.expiry

    def first(role: str, md: Metadata) -> None:  # type: ignore[type-arg]
        repo.write(role, md, repo.sign(role, md))

    first(ROOT, Metadata(new_root(keys, now + expiry.root)))
    first(TARGETS, Metadata(new_targets(keys, now + expiry.targets)))
    first(CLAIMED, Metadata(new_project_parent(now + expiry.claimed)))
    first(RECENTLY_CLAIMED, Metadata(new_project_parent(now + expiry.recently_claimed)))
    unclaimed = new_unclaimed(keys, settings.bin_count, now + expiry.unclaimed)
    first(UNCLAIMED, Metadata(unclaimed))
    names = bin_names(unclaimed)
    for i, name in enumerate(names, 1):
        first(name, Metadata(Targets(expires=now + expiry.bins)))
        if progress:
            progress(i, len(names))
    snapshot = Snapshot(expires=now + expiry.snapshot, meta=dict(repo.targets_infos))
    first(SNAPSHOT, Metadata(snapshot))
    first(
        TIMESTAMP,
        Metadata(Timestamp(expires=now + expiry.timestamp, snapshot_meta=repo.snapshot_info)),
    )
    digest = published.root_sha256()
    logger.info("initialised repository with %d bins; root sha256 %s", len(names), digest)
    return InitResult(True, digest, len(names))
