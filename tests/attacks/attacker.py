"""An attacker who holds every online key of the index and can rewrite what it serves.

That is PEP 480's "compromise of the online keys" (timestamp, snapshot, bins,
unclaimed, recently-claimed), which also covers a full compromise of the
index's servers: only the offline keys (root, targets, claimed) and the
developers' keys are out of reach.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from securesystemslib.signer import CryptoSigner
from tuf.api.metadata import MetaFile, Snapshot, TargetFile, Targets

from endorse.clock import SystemClock
from endorse.metadata.layout import bin_for
from endorse.metadata.roles import RECENTLY_CLAIMED, SNAPSHOT, TIMESTAMP, UNCLAIMED
from endorse.metadata.storage_keys import metadata_key, target_key
from endorse.publisher.bootstrap import ONLINE_KEYRING
from endorse.publisher.keyring import Keyring
from endorse.publisher.repository import StoredRepository
from endorse.settings import Expiry
from endorse.storage.local import LocalBlobStore


class OnlineKeyAttacker:
    """Forges metadata with the stolen online keys and serves it from the index."""

    def __init__(self, data_dir: Path, store_dir: Path | None = None) -> None:
        """The keys of the index in ``data_dir``; its store, or the copy in ``store_dir``."""
        self.store = LocalBlobStore(store_dir or data_dir / "store")
        self.repo = StoredRepository(
            self.store, Keyring.load(data_dir / "keys" / ONLINE_KEYRING), Expiry(), SystemClock()
        )
        self.repo.load()
        #: A key of the attacker's own, for roles whose keys it does not hold.
        self.own_key = CryptoSigner.generate_ed25519()

    def _publish(self) -> None:
        self.repo.do_snapshot(force=True)
        self.repo.do_timestamp(force=True)

    def serve_file(self, target_path: str, data: bytes) -> TargetFile:
        """Put bytes in storage under the target's consistent name."""
        target = TargetFile(len(data), {"sha256": hashlib.sha256(data).hexdigest()}, target_path)
        self.store.put(target_key(target_path, target.hashes["sha256"]), data)
        return target

    def put_in_bin(self, target_path: str, data: bytes | None) -> None:
        """Sign ``data`` as the target in its bin (``None`` removes it), then publish."""
        unclaimed = self.repo.open(UNCLAIMED).signed
        assert isinstance(unclaimed, Targets)
        with self.repo.edit_targets(bin_for(unclaimed, target_path)) as bin_targets:
            if data is None:
                bin_targets.targets.pop(target_path, None)
            else:
                bin_targets.targets[target_path] = self.serve_file(target_path, data)
        self._publish()

    def forge_role(self, role: str, change: Callable[[Targets], None]) -> None:
        """A new version of a developer-signed role, signed with the attacker's key."""
        md = self.repo.open(role)
        assert isinstance(md.signed, Targets)
        change(md.signed)
        md.signed.version += 1
        md.signatures.clear()
        md.sign(self.own_key)
        self.repo.write(role, md)
        self._publish()

    def take_over_recently_claimed(self, role: str, change: Callable[[Targets], None]) -> None:
        """Re-delegate a recently-claimed project to the attacker's key (it holds
        the online recently-claimed key), then sign the project's role with it."""
        with self.repo.edit_targets(RECENTLY_CLAIMED) as parent:
            assert parent.delegations is not None and parent.delegations.roles is not None
            delegated = parent.delegations.roles[role]
            parent.delegations.keys[self.own_key.public_key.keyid] = self.own_key.public_key
            delegated.keyids = [self.own_key.public_key.keyid]
            delegated.threshold = 1
        self.forge_role(role, change)

    def roll_back(self, role: str, version: int) -> None:
        """A new snapshot that names an older (validly signed) version of ``role``."""
        snapshot_md = self.repo.open(SNAPSHOT)
        snapshot = snapshot_md.signed
        assert isinstance(snapshot, Snapshot)
        snapshot.meta[f"{role}.json"] = MetaFile(version)
        snapshot.version += 1
        self.repo.sign(SNAPSHOT, snapshot_md)
        self.repo.write(SNAPSHOT, snapshot_md)
        self.repo.do_timestamp(force=True)

    def current_version(self, role: str) -> int:
        """The version of a role the newest snapshot names."""
        return self.repo.targets_infos[f"{role}.json"].version

    def role_bytes(self, role: str, version: int) -> bytes:
        """A stored version of a role."""
        return self.store.get(metadata_key(role, version))


__all__ = ["TIMESTAMP", "OnlineKeyAttacker"]
