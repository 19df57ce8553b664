"""Finding a target through the delegations, each role verified along the path that reached it.

TUF's client workflow (§5.6.7) walks the delegations from the top-level
``targets`` role in pre-order, depth first, and stops at the first role that
lists the target or below a terminating delegation. python-tuf's ngclient
keeps every delegated role it has verified by *name* (its
``TrustedMetadataSet``): python-tuf 7.0.0 reuses a role loaded through one
delegator for a later lookup through another, and 7.0.1 checks the
delegator's name but still keeps one copy per role name, so a role loaded
later through a second delegator replaces the copy every earlier delegator
vouched for (the tuf-conformance case
``test_cached_role_is_verified_against_current_delegator``). Whoever holds an
online key can delegate *any* name from an online role: a name that the
offline ``claimed`` role gives a project's developers included.

:class:`DelegationWalker` therefore keeps each verified role with the whole
delegation path that led to it (``targets → claimed → p-requests``), checks
every role against the delegation of its parent on that path (keys,
threshold, the snapshot's version and hashes, expiry), and answers with the
path, so that callers decide from where a target was found, never from a role
name. A role name reached through a second path in one view of the
repository is refused (:class:`RoleWithTwoParents`), so a name never stands
for two roles: endorse never gives a role two parents (DESIGN rule 2), and a
repository that does is either broken or substituting one role for another.

Delegated metadata is cached on disk under ngclient's file names
(``<quoted role name>.json`` in the metadata folder), but the cache is only
where bytes are looked for first: whatever is read from it is verified
against the delegation of this lookup, and downloaded again if it fails.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from tuf.api import exceptions as tuf_errors
from tuf.api.metadata import DelegatedRole, Metadata, Role, Snapshot, TargetFile, Targets

__all__ = [
    "DelegationWalker",
    "Lookup",
    "RolePath",
    "RoleStore",
    "RoleWithTwoParents",
    "VerifiedRole",
    "describe_path",
]

logger = logging.getLogger(__name__)

#: The role names from the top-level ``targets`` down to a role, each delegating the next.
RolePath = tuple[str, ...]


def describe_path(path: RolePath) -> str:
    """``targets → claimed → p-requests``."""
    return " → ".join(path)


def _parent(path: RolePath) -> str:
    return f"{path[-1]} ({describe_path(path)})" if path else "root (the top level)"


class RoleWithTwoParents(tuf_errors.RepositoryError):
    """A role name reached through two different delegation paths."""

    def __init__(self, role: str, first: RolePath, second: RolePath) -> None:
        super().__init__(
            f"role {role} is delegated by two roles: {_parent(first)} and {_parent(second)}; "
            "one role name has one parent, and a second parent is how a compromised index or "
            "mirror substitutes a role"
        )
        self.role = role
        #: The delegation paths of the two parents.
        self.parents = (first, second)


@dataclass(frozen=True, eq=False)
class VerifiedRole:
    """A targets role, verified against the delegation that led to it."""

    path: RolePath
    signed: Targets
    #: The envelope with its signatures (None for the top-level ``targets``,
    #: which ngclient verified against root).
    metadata: Metadata[Targets] | None
    #: How the parent delegated this role (None for the top-level ``targets``).
    delegation: Role | None
    parent: VerifiedRole | None

    @property
    def name(self) -> str:
        """The role's name."""
        return self.path[-1]

    @property
    def terminating(self) -> bool:
        """Whether the delegation to this role is terminating (TAP 15 bins always are)."""
        if isinstance(self.delegation, DelegatedRole):
            return self.delegation.terminating
        return self.delegation is not None

    def describe(self) -> str:
        """The delegation path, for messages."""
        return describe_path(self.path)


@dataclass(frozen=True)
class Lookup:
    """Where the walk for one target path ended."""

    target_path: str
    #: The target, if a role lists it.
    target: TargetFile | None
    #: The role that lists the target; when none does, the role whose terminating
    #: delegation ended the search (None when the search simply ran out of roles).
    role: VerifiedRole | None
    #: Role names in the order the walk verified or re-used them.
    visited: tuple[str, ...]


class RoleStore:
    """Delegated metadata bytes: ngclient's metadata folder first, then the repository."""

    def __init__(
        self,
        metadata_dir: Path,
        download: Callable[[str, int], bytes],
        metadata_base_url: str,
    ) -> None:
        self.metadata_dir = metadata_dir
        self._download = download
        self._base = metadata_base_url.rstrip("/") + "/"

    def _file(self, role: str) -> Path:
        return self.metadata_dir / f"{quote(role, safe='')}.json"

    def cached(self, role: str) -> bytes | None:
        """The bytes kept by an earlier lookup (of any process), unverified."""
        try:
            return self._file(role).read_bytes()
        except OSError:
            return None

    def fetch(self, role: str, version: int | None, max_length: int) -> bytes:
        """Download ``[VERSION.]ROLE.json`` (raises python-tuf's DownloadError)."""
        name = quote(role, safe="")
        if version is not None:
            name = f"{version}.{name}"
        return self._download(f"{self._base}{name}.json", max_length)

    def keep(self, role: str, data: bytes) -> None:
        """Write verified bytes atomically under ngclient's file name."""
        path = self._file(role)
        fd, temp = tempfile.mkstemp(dir=self.metadata_dir, prefix=".role-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(temp, path)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise


@dataclass
class DelegationWalker:
    """Target lookups over one trusted snapshot, each role verified along its own path.

    ``targets`` and ``snapshot`` are the top-level roles ngclient verified in a
    refresh; every lookup of this walker sees the repository as that snapshot
    describes it. Not thread-safe: the caller serialises lookups.
    """

    targets: Targets
    snapshot: Snapshot
    consistent_snapshot: bool
    store: RoleStore
    reference_time: datetime
    #: TUF's bound on the roles one lookup may visit (ngclient's ``max_delegations``).
    max_delegations: int = 32
    #: Download limit for a role whose length snapshot does not state.
    targets_max_length: int = 5_000_000
    #: Every role verified so far, by name; a name has one delegation path per walker.
    _verified: dict[str, VerifiedRole] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self._verified[Targets.type] = VerifiedRole((Targets.type,), self.targets, None, None, None)

    @property
    def top(self) -> VerifiedRole:
        """The top-level ``targets`` role."""
        return self._verified[Targets.type]

    def find(self, target_path: str) -> Lookup:
        """Walk the delegations for ``target_path`` (TUF §5.6.7).

        Raises python-tuf's RepositoryError (a role failed to verify, or
        :class:`RoleWithTwoParents`) or DownloadError.
        """
        to_visit: list[tuple[str, VerifiedRole | None]] = [(Targets.type, None)]
        visited: list[str] = []
        visited_names: set[str] = set()
        ended_by: VerifiedRole | None = None
        while to_visit and len(visited_names) <= self.max_delegations:
            name, parent = to_visit.pop()
            if name in visited_names:
                # Visited earlier in this walk and it did not list the target. Through a
                # different parent it is a second parent: refused, not silently skipped.
                if parent is not None:
                    self._known(name, parent.path)
                continue
            role = self.top if parent is None else self._role(name, parent)
            visited.append(name)
            target = role.signed.targets.get(target_path)
            if target is not None:
                return Lookup(target_path, target, role, tuple(visited))
            visited_names.add(name)
            if role.terminating:
                ended_by = role
            delegations = role.signed.delegations
            if delegations is None:
                continue
            children: list[tuple[str, VerifiedRole | None]] = []
            for child, terminating in delegations.get_roles_for_target(target_path):
                children.append((child, role))
                if terminating:
                    to_visit = []
                    break
            to_visit.extend(reversed(children))
        if to_visit:
            logger.debug(
                "%d roles left to visit for %s, past the bound of %d delegations",
                len(to_visit),
                target_path,
                self.max_delegations,
            )
        return Lookup(target_path, None, ended_by, tuple(visited))

    def _known(self, name: str, parent: RolePath) -> VerifiedRole | None:
        """``name`` as verified before; refused if that was through another parent."""
        known = self._verified.get(name)
        if known is not None and known.path[:-1] != parent:
            raise RoleWithTwoParents(name, known.path[:-1], parent)
        return known

    def _role(self, name: str, parent: VerifiedRole) -> VerifiedRole:
        """``name`` as ``parent`` delegates it, verified once."""
        known = self._known(name, parent.path)
        if known is not None:
            return known
        meta = self.snapshot.meta.get(f"{name}.json")
        if meta is None:
            raise tuf_errors.RepositoryError(
                f"role {name} is delegated by {parent.name} but not listed in snapshot"
            )
        cached = self.store.cached(name)
        role: VerifiedRole | None = None
        if cached is not None:
            try:
                role = self._verify(cached, name, parent)
            except tuf_errors.RepositoryError as e:
                logger.debug("cached %s does not verify through %s: %s", name, parent.name, e)
        if role is None:
            version = meta.version if self.consistent_snapshot else None
            data = self.store.fetch(name, version, meta.length or self.targets_max_length)
            role = self._verify(data, name, parent)
            self.store.keep(name, data)
        self._verified[name] = role
        return role

    def _verify(self, data: bytes, name: str, parent: VerifiedRole) -> VerifiedRole:
        """The checks of TUF §5.6 on one delegated role, against this parent's delegation."""
        if self.snapshot.is_expired(self.reference_time):
            raise tuf_errors.ExpiredMetadataError("snapshot has expired")
        meta = self.snapshot.meta[f"{name}.json"]
        meta.verify_length_and_hashes(data)
        md = Metadata[Targets].from_bytes(data)
        if md.signed.type != Targets.type:
            raise tuf_errors.RepositoryError(f"{name}: expected targets, got {md.signed.type}")
        parent.signed.verify_delegate(name, md.signed_bytes, md.signatures)
        if md.signed.version != meta.version:
            raise tuf_errors.BadVersionNumberError(
                f"expected {name} v{meta.version}, got v{md.signed.version}"
            )
        if md.signed.is_expired(self.reference_time):
            raise tuf_errors.ExpiredMetadataError(f"{name} has expired")
        delegation = parent.signed.get_delegated_role(name)
        return VerifiedRole((*parent.path, name), md.signed, md, delegation, parent)
