"""What claiming costs clients: sizes of real, signed endorse metadata.

Every size here is measured, not estimated: the roles are built with
python-tuf's Metadata API and endorse's own layout builders
(:mod:`endorse.metadata.layout`, role names from :mod:`endorse.metadata.roles`,
target paths from :mod:`endorse.metadata.paths`), signed with real Ed25519
keys, serialized as the publisher does (``JSONSerializer(compact=True)``) and
counted in bytes. Only the *contents* are synthetic: file names, lengths and
hashes of made-up releases, with the counts stated in :class:`LayoutAssumptions`.

Only ``claimed`` and ``snapshot`` grow with the number of claimed projects;
the other roles are built once. A fresh client installing one wheel of a
project looks up three targets (the PEP 691 listing, the PEP 658 ``.metadata``
file and the wheel) and downloads:

* claimed project: root, timestamp, snapshot, targets, ``claimed``, ``p-<name>``;
* unclaimed project: root, timestamp, snapshot, targets, ``claimed`` (it is
  tried first for every path), ``recently-claimed``, ``unclaimed`` and three
  bins (the three paths hash to three bins, almost surely).

The *sharded* variant is a proposal, not endorse's layout: ``claimed``
delegates (non-terminating, by the first two hex digits of the project's path
prefix, ``3f*/*/*``) to 256 shard roles ``claimed-3f`` that hold the
per-project delegations, so a client downloads ``claimed`` plus one shard.
No IO here.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import pairwise
from typing import TypeVar

from packaging.utils import NormalizedName, canonicalize_name
from securesystemslib.signer import CryptoSigner, Key, Signer
from tuf.api.metadata import (
    DelegatedRole,
    Delegations,
    Metadata,
    MetaFile,
    Root,
    Snapshot,
    TargetFile,
    Targets,
    Timestamp,
)
from tuf.api.serialization.json import JSONSerializer
from tuf.ngclient import UpdaterConfig

from endorse.metadata.delegations import project_delegation
from endorse.metadata.layout import (
    KeySet,
    RepositoryKeys,
    bin_names,
    new_project_parent,
    new_root,
    new_targets,
    new_unclaimed,
)
from endorse.metadata.paths import (
    core_metadata_target,
    file_target,
    listing_target,
    project_prefix,
)
from endorse.metadata.roles import (
    CLAIMED,
    RECENTLY_CLAIMED,
    TARGETS,
    UNCLAIMED,
    RoleName,
    claimed_project_role,
)
from endorse.metadata.trust import TrustLevel, trust_custom

__all__ = [
    "ClaimedSizes",
    "ClientLimits",
    "FixedSizes",
    "LayoutAssumptions",
    "Line",
    "MetadataCostBuilder",
    "Piecewise",
    "RoleSizes",
    "fit_line",
    "project_names",
]

#: The publisher's serializer (``endorse.publisher.repository._SERIALIZER``).
_SERIALIZER = JSONSerializer(compact=True)
#: A fixed expiry, so that sizes do not depend on the day the report is built.
_EXPIRES = datetime(2027, 1, 1, tzinfo=UTC)
#: Wheel tags of made-up releases, from a pure-Python wheel to a long manylinux one.
_WHEEL_TAGS = (
    "py3-none-any",
    "cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64",
    "cp312-cp312-macosx_11_0_arm64",
    "cp312-cp312-win_amd64",
    "cp313-cp313-musllinux_1_2_aarch64",
)
#: Shard roles of the sharded proposal: one per two hex digits of the path prefix.
SHARD_HEX_DIGITS = 2


@dataclass(frozen=True)
class ClientLimits:
    """An unmodified ``tuf.ngclient``'s default size limits (``UpdaterConfig``)."""

    snapshot_max_length: int
    targets_max_length: int
    max_delegations: int

    @classmethod
    def ngclient_defaults(cls) -> ClientLimits:
        """Read the limits from python-tuf itself, not from a copy."""
        config = UpdaterConfig()
        return cls(
            snapshot_max_length=config.snapshot_max_length,
            targets_max_length=config.targets_max_length,
            max_delegations=config.max_delegations,
        )


@dataclass(frozen=True)
class LayoutAssumptions:
    """The repository the sizes are measured on (PyPI scale by default)."""

    #: Hashed bins under ``unclaimed`` (PEP 458: 16,384 at PyPI scale).
    bin_count: int = 16_384
    #: Distribution files on the index (DESIGN: 6 to 7 million).
    total_files: int = 6_500_000
    #: Projects on the index (each has two listing targets).
    total_projects: int = 600_000
    #: Share of files that are wheels (each wheel also has a ``.metadata`` target).
    wheel_share: float = 0.6
    #: Files of the project whose install is measured.
    project_files: int = 100
    #: Keys and threshold of root (offline; signed by ``threshold`` keys).
    root_keys: tuple[int, int] = (5, 3)
    #: Keys and threshold of targets and claimed (offline, administrators).
    offline_keys: tuple[int, int] = (3, 2)
    #: Versions written into snapshot and timestamp (their digits count in bytes).
    bin_version: int = 25_000
    project_role_version: int = 40
    offline_role_version: int = 100
    snapshot_version: int = 1_500_000

    @property
    def targets_per_project(self) -> float:
        """Average targets of a project: files, wheel ``.metadata`` files, two listings."""
        files = self.total_files / self.total_projects
        return files * (1 + self.wheel_share) + 2

    @property
    def targets_per_bin(self) -> int:
        """Average targets in one bin if every project stays unclaimed (an upper bound)."""
        return round(self.total_projects * self.targets_per_project / self.bin_count)


@dataclass(frozen=True)
class FixedSizes:
    """Bytes of the roles whose size does not depend on the number of claims."""

    root: int
    timestamp: int
    targets: int
    recently_claimed: int
    unclaimed: int
    bin: int
    targets_per_bin: int
    project_role: int
    project_files: int


@dataclass(frozen=True)
class ClaimedSizes:
    """Bytes of the roles that grow with the number of claimed projects."""

    claims: int
    keys_per_project: int
    claimed: int
    snapshot: int
    #: Sharded proposal: ``claimed`` with one delegation per shard, and one shard.
    sharded_claimed: int | None = None
    sharded_shard_mean: float | None = None
    sharded_shard_max: int | None = None
    sharded_snapshot: int | None = None


@dataclass(frozen=True)
class RoleSizes:
    """Every role a client may download, at one number of claims."""

    fixed: FixedSizes
    grown: ClaimedSizes

    @property
    def claims(self) -> int:
        """Claimed projects."""
        return self.grown.claims

    @property
    def top_level(self) -> int:
        """Root, timestamp, snapshot and targets: what every fresh client downloads first."""
        f = self.fixed
        return f.root + f.timestamp + self.grown.snapshot + f.targets

    @property
    def per_install_claimed(self) -> int:
        """Fresh client, one wheel of a claimed project: top level, claimed, the project role."""
        return self.top_level + self.grown.claimed + self.fixed.project_role

    @property
    def per_install_unclaimed(self) -> int:
        """Fresh client, one wheel of an unclaimed project: also rc, unclaimed and 3 bins."""
        f = self.fixed
        return self.top_level + self.grown.claimed + f.recently_claimed + f.unclaimed + 3 * f.bin

    @property
    def per_refresh(self) -> int:
        """A warm client after any publish: a new timestamp and the whole new snapshot."""
        return self.fixed.timestamp + self.grown.snapshot

    def _sharded_top_level_and_claimed(self) -> float:
        """``top_level`` with the sharded snapshot, plus claimed and one shard."""
        g, f = self.grown, self.fixed
        if g.sharded_claimed is None or g.sharded_shard_mean is None:
            raise ValueError("sizes were measured without the sharded variant")
        snapshot = g.sharded_snapshot if g.sharded_snapshot is not None else g.snapshot
        return (
            f.root + f.timestamp + snapshot + f.targets + g.sharded_claimed + g.sharded_shard_mean
        )

    @property
    def sharded_per_install_claimed(self) -> float:
        """Proposal: as ``per_install_claimed`` with claimed + one shard instead of claimed."""
        return self._sharded_top_level_and_claimed() + self.fixed.project_role

    @property
    def sharded_per_install_unclaimed(self) -> float:
        """Proposal: as ``per_install_unclaimed`` with claimed + one shard instead of claimed."""
        f = self.fixed
        return self._sharded_top_level_and_claimed() + f.recently_claimed + f.unclaimed + 3 * f.bin


@dataclass(frozen=True)
class Line:
    """``y = intercept + slope * x``, fitted by least squares."""

    intercept: float
    slope: float

    def __call__(self, x: float) -> float:
        """The fitted value at ``x``."""
        return self.intercept + self.slope * x

    def crossing(self, y: float) -> float:
        """The ``x`` where the line reaches ``y``."""
        if self.slope == 0:
            raise ValueError("a flat line crosses no level")
        return (y - self.intercept) / self.slope


@dataclass(frozen=True)
class Piecewise:
    """Straight segments through measured ``(x, y)`` points; the end segments extend beyond."""

    points: tuple[tuple[float, float], ...]

    def __post_init__(self) -> None:
        xs = [x for x, _ in self.points]
        if len(xs) < 2 or any(a >= b for a, b in pairwise(xs)):
            raise ValueError("need two or more points with increasing x")

    def _segment(self, x: float) -> tuple[tuple[float, float], tuple[float, float]]:
        for left, right in pairwise(self.points):
            if x <= right[0]:
                return left, right
        return self.points[-2], self.points[-1]

    def __call__(self, x: float) -> float:
        """The interpolated (or, outside the points, extrapolated) value at ``x``."""
        (x0, y0), (x1, y1) = self._segment(x)
        return y0 + (y1 - y0) * (x - x0) / (x1 - x0)

    def crossing(self, y: float) -> float | None:
        """The ``x`` where the (increasing) curve reaches ``y``; None if it is flat there.

        Outside the measured points the end segments are extended; a result at
        or below zero means the level is reached before any point was measured.
        """
        pairs = list(pairwise(self.points))
        if y < self.points[0][1]:
            segment = pairs[0]
        else:
            segment = next(((a, b) for a, b in pairs if a[1] <= y <= b[1]), pairs[-1])
        (x0, y0), (x1, y1) = segment
        if y1 == y0:
            return None
        return x0 + (y - y0) * (x1 - x0) / (y1 - y0)


def fit_line(points: Sequence[tuple[float, float]]) -> Line:
    """Least-squares line through ``(x, y)`` points (at least two distinct ``x``)."""
    if len({x for x, _ in points}) < 2:
        raise ValueError("a line needs at least two distinct x values")
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    sxx = sum((x - mean_x) ** 2 for x, _ in points)
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in points)
    slope = sxy / sxx
    return Line(intercept=mean_y - slope * mean_x, slope=slope)


def project_names(listed: Sequence[str], count: int) -> list[NormalizedName]:
    """``count`` distinct project names: the listed ones, then ``<listed>-2``, ``<listed>-3`` ...

    Beyond the list the names are made up, but keep the listed names' lengths
    (plus two characters), which is what the sizes depend on.
    """
    if not listed:
        raise ValueError("need at least one listed name")
    names = [canonicalize_name(n) for n in listed[:count]]
    round_ = 2
    while len(names) < count:
        names.extend(canonicalize_name(f"{n}-{round_}") for n in listed[: count - len(names)])
        round_ += 1
    return names


def _maintainers(project: int, keys: Sequence[Key]) -> dict[str, list[Key]]:
    """One maintainer per key, with made-up 8-character user names (``m0000042``)."""
    return {f"m{project * len(keys) + j:07d}": [key] for j, key in enumerate(keys)}


def _signers(count: int) -> list[Signer]:
    return [CryptoSigner.generate_ed25519() for _ in range(count)]


def _key_set(signers: Sequence[Signer], threshold: int) -> KeySet:
    return KeySet(tuple(s.public_key for s in signers), threshold)


_Role = TypeVar("_Role", Root, Timestamp, Snapshot, Targets)


def _serialize(signed: _Role, signers: Sequence[Signer]) -> bytes:
    md = Metadata(signed)
    for signer in signers:
        md.sign(signer, append=True)
    return md.to_bytes(_SERIALIZER)


def _size(signed: _Role, signers: Sequence[Signer]) -> int:
    return len(_serialize(signed, signers))


def _release_targets(
    name: NormalizedName, files: int, wheel_share: float, trust: TrustLevel
) -> dict[str, TargetFile]:
    """Targets of ``files`` made-up release files of one project, plus its two listings."""
    dist = name.replace("-", "_")
    targets: dict[str, TargetFile] = {}
    wheels_due = 0.0
    for i in range(files):
        version = f"{i // 20}.{(i // 5) % 4}.{i % 5}"
        wheels_due += wheel_share
        size = 10_000 + (i * 7_919_993) % 9_000_000
        if wheels_due >= 1.0:
            wheels_due -= 1.0
            filename = f"{dist}-{version}-{_WHEEL_TAGS[i % len(_WHEEL_TAGS)]}.whl"
            meta_path = core_metadata_target(name, filename)
            targets[meta_path] = TargetFile(
                2_000 + size % 8_000, {"sha256": _digest(meta_path)}, meta_path
            )
        else:
            filename = f"{dist}-{version}.tar.gz"
        path = file_target(name, filename)
        targets[path] = TargetFile(
            size, {"sha256": _digest(path)}, path, {"custom": trust_custom(trust)}
        )
    for fmt in ("html", "json"):
        path = listing_target(name, fmt)
        targets[path] = TargetFile(1_000 + 300 * files, {"sha256": _digest(path)}, path)
    return targets


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _bin_targets(
    names: Sequence[NormalizedName], count: int, wheel_share: float
) -> dict[str, TargetFile]:
    """``count`` targets of one bin, each from a different project, in the index's mix.

    The mix (sdists, wheels, their ``.metadata`` files and listings) is that of
    a made-up 20-file project; target ``j`` is the ``j``-th kind of that mix.
    """
    targets: dict[str, TargetFile] = {}
    for j in range(count):
        name = names[j % len(names)]
        mix = list(_release_targets(name, 20, wheel_share, TrustLevel.INDEX_SIGNED).values())
        target = mix[j % len(mix)]
        targets[target.path] = target
    return targets


class MetadataCostBuilder:
    """Builds and measures endorse's roles for a given number of claimed projects.

    Developer keys are generated once and reused across sizes (the first
    ``k * keys_per_project`` of them), so measuring several sizes costs about
    as much as measuring the largest.
    """

    def __init__(self, names: Sequence[str], assumptions: LayoutAssumptions) -> None:
        self.assumptions = assumptions
        self._listed = list(names)
        self._names: list[NormalizedName] = []
        self._developer_keys: list[Key] = []
        root_n, root_t = assumptions.root_keys
        offline_n, offline_t = assumptions.offline_keys
        self._root = _signers(root_n)
        self._root_threshold = root_t
        self._targets = _signers(offline_n)
        self._claimed = _signers(offline_n)
        self._offline_threshold = offline_t
        online = {
            role: _signers(1) for role in ("snapshot", "timestamp", "rc", "unclaimed", "bins")
        }
        self._online = online
        self.keys = RepositoryKeys(
            root=_key_set(self._root, root_t),
            targets=_key_set(self._targets, offline_t),
            snapshot=_key_set(online["snapshot"], 1),
            timestamp=_key_set(online["timestamp"], 1),
            claimed=_key_set(self._claimed, offline_t),
            recently_claimed=_key_set(online["rc"], 1),
            unclaimed=_key_set(online["unclaimed"], 1),
            bins=_key_set(online["bins"], 1),
        )
        self._bins: list[RoleName] = bin_names(
            new_unclaimed(self.keys, assumptions.bin_count, _EXPIRES)
        )

    # -- inputs ---------------------------------------------------------------

    def names(self, count: int) -> list[NormalizedName]:
        """The first ``count`` claimed project names."""
        if len(self._names) < count:
            self._names = project_names(self._listed, count)
        return self._names[:count]

    def developer_keys(self, count: int) -> list[Key]:
        """The first ``count`` developer public keys (Ed25519, generated once)."""
        while len(self._developer_keys) < count:
            self._developer_keys.append(CryptoSigner.generate_ed25519().public_key)
        return self._developer_keys[:count]

    def typical_name(self) -> NormalizedName:
        """A listed name of median length: the project whose own role is measured."""
        by_length = sorted(self._listed[:10_000], key=len)
        return canonicalize_name(by_length[len(by_length) // 2])

    # -- roles ----------------------------------------------------------------

    def claimed_role(
        self, claims: int, keys_per_project: int = 1, *, maintainer_map: bool = True
    ) -> Targets:
        """``claimed`` with one terminating delegation per claimed project.

        Each delegation is built by the publisher's own
        :func:`~endorse.metadata.delegations.project_delegation`: the project's
        role (``p-<name>``), its developer keys (one maintainer per key,
        threshold 1), its one path pattern (``3f2a/<name>/*``) and the signed
        maintainer map that lets a threshold count maintainers (left out when
        ``maintainer_map`` is false, to measure what it costs).
        """
        claimed = new_project_parent(_EXPIRES)
        delegations = claimed.delegations
        if delegations is None or delegations.roles is None:
            raise RuntimeError("new_project_parent() returned no delegations")
        keys = self.developer_keys(claims * keys_per_project)
        for i, name in enumerate(self.names(claims)):
            own = keys[i * keys_per_project : (i + 1) * keys_per_project]
            role = claimed_project_role(name)
            delegation = project_delegation(role, name, _maintainers(i, own), threshold=1)
            if not maintainer_map:
                delegation.unrecognized_fields.clear()
            delegations.roles[role] = delegation
            delegations.keys.update({k.keyid: k for k in own})
        claimed.version = self.assumptions.offline_role_version
        return claimed

    def snapshot_role(
        self, project_roles: Sequence[str], extra_roles: Sequence[str] = ()
    ) -> Snapshot:
        """``snapshot`` listing every targets role with its version (as the publisher writes it)."""
        a = self.assumptions
        meta = {
            f"{TARGETS}.json": MetaFile(a.offline_role_version),
            f"{CLAIMED}.json": MetaFile(a.offline_role_version),
            f"{RECENTLY_CLAIMED}.json": MetaFile(a.bin_version),
            f"{UNCLAIMED}.json": MetaFile(a.bin_version),
        }
        meta.update({f"{b}.json": MetaFile(a.bin_version) for b in self._bins})
        meta.update({f"{r}.json": MetaFile(a.offline_role_version) for r in extra_roles})
        meta.update({f"{r}.json": MetaFile(a.project_role_version) for r in project_roles})
        return Snapshot(version=a.snapshot_version, expires=_EXPIRES, meta=meta)

    def sharded_roles(self, claims: int) -> tuple[Targets, dict[str, Targets]]:
        """Proposal: ``claimed`` delegating to 256 shards that hold the project delegations."""
        by_shard: dict[str, list[int]] = defaultdict(list)
        names = self.names(claims)
        for i, name in enumerate(names):
            by_shard[project_prefix(name)[:SHARD_HEX_DIGITS]].append(i)
        keys = self.developer_keys(claims)
        admin = self.keys.claimed
        top = new_project_parent(_EXPIRES)
        shards: dict[str, Targets] = {}
        if top.delegations is None or top.delegations.roles is None:
            raise RuntimeError("new_project_parent() returned no delegations")
        top.delegations.keys.update({k.keyid: k for k in admin.keys})
        for digits in (f"{i:0{SHARD_HEX_DIGITS}x}" for i in range(16**SHARD_HEX_DIGITS)):
            shard_name = f"{CLAIMED}-{digits}"
            top.delegations.roles[shard_name] = DelegatedRole(
                name=shard_name,
                keyids=admin.keyids,
                threshold=admin.threshold,
                terminating=False,
                paths=[f"{digits}*/*/*"],
            )
            roles: dict[str, DelegatedRole] = {}
            shard_keys: dict[str, Key] = {}
            for i in by_shard.get(digits, []):
                role = claimed_project_role(names[i])
                roles[role] = project_delegation(
                    role, names[i], _maintainers(i, [keys[i]]), threshold=1
                )
                shard_keys[keys[i].keyid] = keys[i]
            shard = Targets(
                version=self.assumptions.offline_role_version,
                expires=_EXPIRES,
                delegations=Delegations(keys=shard_keys, roles=roles),
            )
            shards[shard_name] = shard
        top.version = self.assumptions.offline_role_version
        return top, shards

    # -- measurements ---------------------------------------------------------

    def measure_fixed(self) -> FixedSizes:
        """Sizes of the roles that do not grow with claims (each built and signed once)."""
        a = self.assumptions
        offline_t = self._offline_threshold
        root = new_root(self.keys, _EXPIRES)
        root.version = 5
        targets = new_targets(self.keys, _EXPIRES)
        targets.version = a.offline_role_version
        timestamp = Timestamp(
            version=a.snapshot_version, expires=_EXPIRES, snapshot_meta=MetaFile(a.snapshot_version)
        )
        recently_claimed = new_project_parent(_EXPIRES)
        recently_claimed.version = a.bin_version
        unclaimed = new_unclaimed(self.keys, a.bin_count, _EXPIRES)
        unclaimed.version = a.bin_version
        names = self.names(min(len(self._listed), 10_000))
        typical = self.typical_name()
        one_bin = Targets(
            version=a.bin_version,
            expires=_EXPIRES,
            targets=_bin_targets(names, a.targets_per_bin, a.wheel_share),
        )
        project = Targets(
            version=a.project_role_version,
            expires=_EXPIRES,
            targets=_release_targets(
                typical, a.project_files, a.wheel_share, TrustLevel.DEVELOPER_SIGNED
            ),
        )
        developer = _signers(1)
        return FixedSizes(
            root=_size(root, self._root[: self._root_threshold]),
            timestamp=_size(timestamp, self._online["timestamp"]),
            targets=_size(targets, self._targets[:offline_t]),
            recently_claimed=_size(recently_claimed, self._online["rc"]),
            unclaimed=_size(unclaimed, self._online["unclaimed"]),
            bin=_size(one_bin, self._online["bins"]),
            targets_per_bin=a.targets_per_bin,
            project_role=_size(project, developer),
            project_files=a.project_files,
        )

    def measure_project_role(self, files: int) -> int:
        """Bytes of one developer-signed project role with ``files`` files."""
        a = self.assumptions
        project = Targets(
            version=a.project_role_version,
            expires=_EXPIRES,
            targets=_release_targets(
                self.typical_name(), files, a.wheel_share, TrustLevel.DEVELOPER_SIGNED
            ),
        )
        return _size(project, _signers(1))

    def signed_claimed(
        self, claims: int, keys_per_project: int = 1, *, maintainer_map: bool = True
    ) -> bytes:
        """``claimed`` with ``claims`` projects, signed by a threshold of its offline keys."""
        return _serialize(
            self.claimed_role(claims, keys_per_project, maintainer_map=maintainer_map),
            self._claimed[: self._offline_threshold],
        )

    def signed_targets(self) -> bytes:
        """Top-level ``targets`` (delegating to claimed, recently-claimed, unclaimed), signed."""
        targets = new_targets(self.keys, _EXPIRES)
        return _serialize(targets, self._targets[: self._offline_threshold])

    def measure_claimed(
        self, claims: int, *, keys_per_project: int = 1, sharded: bool = False
    ) -> ClaimedSizes:
        """Sizes of ``claimed`` and ``snapshot`` with ``claims`` claimed projects."""
        offline = self._claimed[: self._offline_threshold]
        claimed = len(self.signed_claimed(claims, keys_per_project))
        project_roles = [claimed_project_role(n) for n in self.names(claims)]
        snapshot = _size(self.snapshot_role(project_roles), self._online["snapshot"])
        if not sharded:
            return ClaimedSizes(claims, keys_per_project, claimed, snapshot)
        top, shards = self.sharded_roles(claims)
        shard_sizes = [_size(s, offline) for s in shards.values()]
        sharded_snapshot = _size(
            self.snapshot_role(project_roles, extra_roles=list(shards)), self._online["snapshot"]
        )
        return ClaimedSizes(
            claims,
            keys_per_project,
            claimed,
            snapshot,
            sharded_claimed=_size(top, offline),
            sharded_shard_mean=sum(shard_sizes) / len(shard_sizes),
            sharded_shard_max=max(shard_sizes),
            sharded_snapshot=sharded_snapshot,
        )
