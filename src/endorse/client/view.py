"""One refreshed, consistent view of a TUF repository: any repository, not only endorse's.

ngclient's unmodified ``Updater`` does the top-level workflow (root rotations,
timestamp, snapshot and targets, with their rollback, freeze and
fast-forward checks) and downloads target files against a verified
``TargetFile``. Target *lookups* go through
:class:`endorse.client.delegations.DelegationWalker` instead of
``Updater.get_targetinfo``, so that every delegated role is verified against
the delegation that led to it in this lookup, not trusted by its name.

The view knows nothing of endorse's role names or URL layout: it takes a
metadata and a targets base URL, and is what both endorse's verifying index
(:mod:`endorse.client.resolver`) and the TUF conformance entry point
(:mod:`endorse.client.conformance`) are built on.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from tuf.api.metadata import Root, Signed, Snapshot, TargetFile, Targets
from tuf.ngclient import Updater, UpdaterConfig
from tuf.ngclient.fetcher import FetcherInterface

from endorse.client.delegations import DelegationWalker, Lookup, RoleStore

__all__ = ["RepositoryView", "trusted_top_level"]

#: The roles ngclient's refresh verifies; the only ones read from its trusted set.
TOP_LEVEL_ROLES = (Root.type, "timestamp", Snapshot.type, Targets.type)


def trusted_top_level(updater: Updater, role: str) -> Signed | None:
    """A top-level role ngclient verified in this Updater's refresh, or None.

    ngclient has no public accessor for its trusted metadata; read it from
    ``Updater._trusted_set`` (python-tuf 7, pinned below 8 in pyproject).
    Only the four top-level roles are read there: delegated roles in that set
    are keyed by name, which is what :mod:`endorse.client.delegations` exists
    to avoid.
    """
    if role not in TOP_LEVEL_ROLES:
        raise ValueError(f"{role!r} is not a top-level role")
    try:
        return updater._trusted_set[role]
    except KeyError:
        return None


class RepositoryView:
    """Lookups and downloads over one refreshed Updater."""

    def __init__(
        self,
        updater: Updater,
        *,
        metadata_dir: Path,
        metadata_base_url: str,
        fetcher: FetcherInterface,
        config: UpdaterConfig,
    ) -> None:
        """``updater`` must be refreshed; the other arguments are the ones it was made with."""
        self.updater = updater
        root = trusted_top_level(updater, Root.type)
        snapshot = trusted_top_level(updater, Snapshot.type)
        targets = trusted_top_level(updater, Targets.type)
        if not (
            isinstance(root, Root)
            and isinstance(snapshot, Snapshot)
            and isinstance(targets, Targets)
        ):
            raise RuntimeError("RepositoryView needs a refreshed Updater")
        self.walker = DelegationWalker(
            targets=targets,
            snapshot=snapshot,
            consistent_snapshot=bool(root.consistent_snapshot),
            store=RoleStore(metadata_dir, fetcher.download_bytes, metadata_base_url),
            reference_time=datetime.now(UTC),
            max_delegations=config.max_delegations,
            targets_max_length=config.targets_max_length,
        )

    def top_level(self, role: str) -> Signed | None:
        """A verified top-level role (root, timestamp, snapshot, targets)."""
        return trusted_top_level(self.updater, role)

    def find(self, target_path: str) -> Lookup:
        """Where the delegations place ``target_path`` (see DelegationWalker.find)."""
        return self.walker.find(target_path)

    def download(self, target: TargetFile, filepath: Path) -> None:
        """Download ``target`` to ``filepath``, checked against its signed length and hashes."""
        self.updater.download_target(target, filepath=str(filepath))

    def cached(self, target: TargetFile, filepath: Path) -> bool:
        """Whether ``filepath`` already holds exactly ``target``'s bytes."""
        return self.updater.find_cached_target(target, filepath=str(filepath)) is not None
