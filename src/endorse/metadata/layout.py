"""Builders for the top of the role tree: root, targets and its three delegations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from securesystemslib.signer import Key
from tuf.api.metadata import (
    DelegatedRole,
    Delegations,
    Root,
    Snapshot,
    SuccinctRoles,
    Targets,
    Timestamp,
)

from endorse.metadata.roles import (
    BIN_PREFIX,
    CLAIMED,
    RECENTLY_CLAIMED,
    UNCLAIMED,
    RoleName,
)

#: Every project target has three path segments: ``prefix/name/basename``.
ALL_PROJECT_PATHS = "*/*/*"


@dataclass(frozen=True)
class KeySet:
    """Public keys and threshold of one role."""

    keys: tuple[Key, ...]
    threshold: int = 1

    @property
    def keyids(self) -> list[str]:
        """The key ids, in order."""
        return [k.keyid for k in self.keys]


@dataclass(frozen=True)
class RepositoryKeys:
    """The public keys of every role the index defines itself."""

    root: KeySet
    targets: KeySet
    snapshot: KeySet
    timestamp: KeySet
    claimed: KeySet
    recently_claimed: KeySet
    unclaimed: KeySet
    bins: KeySet


def bit_length_for(bin_count: int) -> int:
    """``SuccinctRoles.bit_length`` for a power-of-two number of bins."""
    if bin_count < 2 or bin_count & (bin_count - 1):
        raise ValueError(f"bin count must be a power of two >= 2, not {bin_count!r}")
    return bin_count.bit_length() - 1


def new_root(keys: RepositoryKeys, expires: datetime) -> Root:
    """Version 1 of root, with consistent snapshots on."""
    root = Root(expires=expires, consistent_snapshot=True)
    for role, key_set in (
        (Root.type, keys.root),
        (Targets.type, keys.targets),
        (Snapshot.type, keys.snapshot),
        (Timestamp.type, keys.timestamp),
    ):
        for key in key_set.keys:
            root.add_key(key, role)
        root.roles[role].threshold = key_set.threshold
    return root


def new_targets(keys: RepositoryKeys, expires: datetime) -> Targets:
    """Top-level targets: delegates, in order, to claimed, recently-claimed, unclaimed.

    None of the three is terminating: a target not found under ``claimed`` must
    still be looked up in the next role. Terminating delegations sit one level
    lower, on each project role.
    """
    roles: dict[str, DelegatedRole] = {}
    all_keys: dict[str, Key] = {}
    for name, key_set in (
        (CLAIMED, keys.claimed),
        (RECENTLY_CLAIMED, keys.recently_claimed),
        (UNCLAIMED, keys.unclaimed),
    ):
        roles[name] = DelegatedRole(
            name=name,
            keyids=key_set.keyids,
            threshold=key_set.threshold,
            terminating=False,
            paths=[ALL_PROJECT_PATHS],
        )
        all_keys.update({k.keyid: k for k in key_set.keys})
    return Targets(expires=expires, delegations=Delegations(keys=all_keys, roles=roles))


def new_project_parent(expires: datetime) -> Targets:
    """An empty ``claimed`` or ``recently-claimed`` (project roles are added later)."""
    return Targets(expires=expires, delegations=Delegations(keys={}, roles={}))


def new_unclaimed(keys: RepositoryKeys, bin_count: int, expires: datetime) -> Targets:
    """``unclaimed``: TAP 15 succinct hashed bins, SHA-256 of the target path."""
    succinct = SuccinctRoles(
        keyids=keys.bins.keyids,
        threshold=keys.bins.threshold,
        bit_length=bit_length_for(bin_count),
        name_prefix=BIN_PREFIX,
    )
    return Targets(
        expires=expires,
        delegations=Delegations(keys={k.keyid: k for k in keys.bins.keys}, succinct_roles=succinct),
    )


def bin_names(unclaimed: Targets) -> list[RoleName]:
    """Every bin name ``unclaimed`` delegates to."""
    succinct = unclaimed.delegations.succinct_roles if unclaimed.delegations else None
    if succinct is None:
        raise ValueError("unclaimed has no succinct hashed bins")
    return [RoleName(name) for name in succinct.get_roles()]


def bin_for(unclaimed: Targets, target_path: str) -> RoleName:
    """The bin that holds ``target_path``."""
    succinct = unclaimed.delegations.succinct_roles if unclaimed.delegations else None
    if succinct is None:
        raise ValueError("unclaimed has no succinct hashed bins")
    return RoleName(succinct.get_role_for_target(target_path))
