"""PEP 480's recovery after a compromise of the online keys.

Steps, in the order they are published (timestamp last):

1. new online keys (timestamp, snapshot, bins, unclaimed, recently-claimed);
2. root: the new timestamp and snapshot keys, signed by the offline root keys,
   so clients drop their cached timestamp and snapshot (fast-forward recovery);
3. targets: the new unclaimed and recently-claimed keys, signed offline;
4. recently-claimed wiped: its projects were signed online, so their claims are
   void and their maintainers claim again;
5. unclaimed and every bin re-signed with the new keys from the last known-good
   snapshot, with the differences since then reported for review;
6. a new snapshot and timestamp.

Claimed projects need nothing: their roles are signed by developer keys and
delegated by the offline ``claimed`` role, which the attacker never held.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime

from packaging.utils import NormalizedName
from securesystemslib.signer import Key
from tuf.api.metadata import Metadata, Root, Snapshot, TargetFile, Targets

from endorse.clock import Clock, SystemClock
from endorse.errors import EndorseError, NotFound, PublishError
from endorse.metadata.layout import bin_names
from endorse.metadata.roles import (
    RECENTLY_CLAIMED,
    ROOT,
    SNAPSHOT,
    TARGETS,
    TIMESTAMP,
    UNCLAIMED,
    RoleName,
)
from endorse.metadata.storage_keys import metadata_key
from endorse.publisher.bootstrap import ONLINE_KEYRING
from endorse.publisher.keyring import ONLINE_KINDS, Keyring, generate_file_keys
from endorse.publisher.repository import StoredRepository
from endorse.settings import Settings
from endorse.storage import BlobStore
from endorse.storage.db import Database, queries

logger = logging.getLogger(__name__)


@dataclass
class RecoveryReport:
    """What a recovery did, for the administrators' bulletin."""

    root_version: int
    timestamp_version: int
    wiped_claims: list[NormalizedName] = field(default_factory=list)
    #: Targets that differ between the compromised bins and the known-good ones.
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    requeued: int = 0


def recover(
    settings: Settings,
    db: Database,
    store: BlobStore,
    offline: Keyring,
    *,
    known_good_snapshot: int,
    requeue: bool,
    clock: Clock | None = None,
) -> RecoveryReport:
    """Rotate the online keys and republish from a known-good state.

    Run it with the publisher stopped (the caller holds the leader lock).
    ``requeue`` re-publishes every index-signed project from the database
    afterwards, for when the database is trusted to hold the accepted uploads.
    """
    known_good = _load_known_good(store, known_good_snapshot)
    online = _new_online_keys(settings)
    keyring = Keyring({**online.entries, **offline.entries}, offline.secrets_handler)
    repo = StoredRepository(store, keyring, settings.expiry, clock or SystemClock())
    repo.load()
    _delegate_to_new_online_keys(repo, online)
    report = RecoveryReport(root_version=0, timestamp_version=0)
    for name in _rekey_bins(repo, online):
        good = _known_good_role(store, known_good, name)
        with repo.edit_targets(name) as current:
            _diff(report, current.targets, good.targets)
            current.targets = dict(good.targets)
    repo.do_snapshot(force=True)
    repo.do_timestamp(force=True)
    report.root_version = repo.read(ROOT).signed.version
    report.timestamp_version = repo.read(TIMESTAMP).signed.version
    with db.session() as session:
        # Claims that only an online key delegated are void: their maintainers claim again.
        report.wiped_claims = queries.void_unprotected_claims(session)
        queries.forget_role_state(session)
        if requeue:
            report.requeued = queries.queue_projects_not_claimed(session)
    logger.warning(
        "recovered: root v%d, timestamp v%d, %d claims wiped, %d targets differed",
        report.root_version,
        report.timestamp_version,
        len(report.wiped_claims),
        len(report.added) + len(report.changed) + len(report.removed),
    )
    return report


def _new_online_keys(settings: Settings) -> Keyring:
    """New online key files; the stolen keyring is kept aside as ``online.compromised-*``."""
    keys_dir = settings.keys_dir
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    keyring_path = keys_dir / ONLINE_KEYRING
    if keyring_path.exists():
        os.replace(keyring_path, keys_dir / f"online.compromised-{stamp}.json")
    online = generate_file_keys(keys_dir / f"online-{stamp}", ONLINE_KINDS)
    online.save(keyring_path)
    return online


def _delegate_to_new_online_keys(repo: StoredRepository, online: Keyring) -> None:
    """Root names the new timestamp and snapshot keys, targets the new unclaimed and
    recently-claimed keys (both signed offline); recently-claimed starts empty."""
    with repo.edit_root() as root:
        _replace_role_keys(root, TIMESTAMP, online.public_keys("timestamp"))
        _replace_role_keys(root, SNAPSHOT, online.public_keys("snapshot"))
    with repo.edit_targets(TARGETS) as targets:
        _replace_delegation_keys(targets, UNCLAIMED, online.public_keys("unclaimed"))
        _replace_delegation_keys(targets, RECENTLY_CLAIMED, online.public_keys("recently_claimed"))
    with repo.edit_targets(RECENTLY_CLAIMED) as recently_claimed:
        if recently_claimed.delegations is not None:
            recently_claimed.delegations.roles = {}
            recently_claimed.delegations.keys = {}


def _rekey_bins(repo: StoredRepository, online: Keyring) -> list[RoleName]:
    """``unclaimed`` delegates its bins to the new bins key; returns every bin's name."""
    with repo.edit_targets(UNCLAIMED) as unclaimed:
        succinct = unclaimed.delegations.succinct_roles if unclaimed.delegations else None
        if succinct is None or unclaimed.delegations is None:
            raise PublishError("unclaimed has no hashed bins")
        new_bins_keys = online.public_keys("bins")
        succinct.keyids = [k.keyid for k in new_bins_keys]
        unclaimed.delegations.keys = {k.keyid: k for k in new_bins_keys}
        return bin_names(unclaimed)


def _load_known_good(store: BlobStore, version: int) -> Snapshot:
    try:
        md = Metadata[Snapshot].from_bytes(store.get(metadata_key(SNAPSHOT, version)))
    except EndorseError as e:
        raise NotFound(
            f"snapshot version {version} is not stored",
            hint="name a snapshot version from before the compromise that was not pruned",
        ) from e
    return md.signed


def _known_good_role(store: BlobStore, snapshot: Snapshot, role: str) -> Targets:
    meta = snapshot.meta.get(f"{role}.json")
    if meta is None:
        raise PublishError(f"{role} is not in the known-good snapshot")
    md = Metadata[Targets].from_bytes(store.get(metadata_key(role, meta.version)))
    return md.signed


def _replace_role_keys(root: Root, role: str, keys: tuple[Key, ...]) -> None:
    for keyid in list(root.roles[role].keyids):
        root.revoke_key(keyid, role)
    for key in keys:
        root.add_key(key, role)


def _replace_delegation_keys(targets: Targets, role: str, keys: tuple[Key, ...]) -> None:
    delegations = targets.delegations
    if delegations is None or delegations.roles is None:
        raise PublishError("targets has no delegations")
    delegated = delegations.roles[role]
    for keyid in delegated.keyids:
        delegations.keys.pop(keyid, None)
    delegated.keyids = [k.keyid for k in keys]
    for key in keys:
        delegations.keys[key.keyid] = key


def _diff(
    report: RecoveryReport, current: dict[str, TargetFile], good: dict[str, TargetFile]
) -> None:
    for path in current.keys() - good.keys():
        report.added.append(path)
    for path in good.keys() - current.keys():
        report.removed.append(path)
    for path in current.keys() & good.keys():
        if current[path] != good[path]:
            report.changed.append(path)


__all__ = ["RecoveryReport", "recover"]
