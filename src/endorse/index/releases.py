"""Signed releases of claimed projects: PEP 480's "project transaction".

A release is the next version of the project's role, signed by its
developers, plus the distribution files it adds. The index checks what PEP 480
lists, all before storing anything it would serve: the metadata parses, is not
expired, raises the version by one, signs only targets inside the project's
folder, agrees with every uploaded file (and every uploaded file is in it),
and carries valid signatures from registered keys of enough distinct
maintainers. Below the threshold the release waits for co-signatures.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path

from packaging.utils import NormalizedName, canonicalize_name
from securesystemslib.exceptions import UnverifiedSignatureError
from securesystemslib.signer import Signature
from sqlalchemy import select
from sqlalchemy.orm import Session
from tuf.api.metadata import Metadata, TargetFile, Targets
from tuf.api.serialization import DeserializationError

from endorse.clock import Clock, SystemClock
from endorse.errors import NotFound, PermissionDenied, UploadRejected
from endorse.index.accounts import Identity
from endorse.index.claims import (
    CLAIMED_STATE,
    PENDING,
    RECENTLY_CLAIMED_STATE,
    ClaimInfo,
    claim_info,
)
from endorse.index.uploads import _file_record, store_distribution
from endorse.metadata.paths import LISTING_FILENAMES, parse_target_path, project_prefix
from endorse.metadata.roles import CLAIMED
from endorse.metadata.storage_keys import developer_role_key, pending_release_key, target_key
from endorse.metadata.trust import TrustLevel
from endorse.packages.distributions import Distribution, inspect_distribution
from endorse.storage.blobs import BlobStore
from endorse.storage.db import (
    ClaimMaintainer,
    Database,
    File,
    FileRegistry,
    PendingRelease,
    Project,
    ProjectClaim,
    ProjectRoleVersion,
    QueueEntry,
)
from endorse.storage.published import PublishedMetadata

logger = logging.getLogger(__name__)

ACCEPTED = "accepted"
#: Longest validity a developer may give a project role version.
MAX_ROLE_LIFETIME = timedelta(days=731)


class ReleaseRejected(UploadRejected):
    """A signed release failed one of PEP 480's checks; nothing of it was stored."""


@dataclass
class ReleaseOutcome:
    """What happened to a submitted release."""

    state: str
    version: int
    signed_by: list[str]
    threshold: int
    pending_id: int | None = None
    files: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        """JSON form for the API."""
        return {
            "state": self.state,
            "version": self.version,
            "signed_by": self.signed_by,
            "threshold": self.threshold,
            "pending_id": self.pending_id,
            "files": self.files,
        }


class Releases:
    """Checks and records signed releases."""

    def __init__(self, db: Database, store: BlobStore, clock: Clock | None = None) -> None:
        self.db = db
        self.store = store
        self.clock = clock or SystemClock()

    # -- submission ----------------------------------------------------------

    def submit(
        self,
        identity: Identity,
        project: str,
        metadata: bytes,
        uploads: Sequence[tuple[str, Path]],
    ) -> ReleaseOutcome:
        """Check a release; accept it, or hold it for co-signatures."""
        name = canonicalize_name(project)
        info, previous, existing = self._context(identity, name)
        md = _parse(metadata)
        self._check_metadata(md, info)
        signed_by = self._check_signatures(md, info, partial_ok=True)
        dists = self._check_files(md, info, previous, existing, uploads)
        for dist, path in dists:
            store_distribution(self.store, dist, path)
        if len(signed_by) < info.threshold:
            return self._hold(identity, name, md, dists, signed_by, info)
        return self._accept(name, md, signed_by, info, [d for d, _ in dists])

    def add_signatures(
        self, identity: Identity, project: str, pending_id: int, signatures: Sequence[Signature]
    ) -> ReleaseOutcome:
        """Add co-signatures to a pending release; accept it once the threshold is met."""
        name = canonicalize_name(project)
        info, _previous, _existing = self._context(identity, name)
        with self.db.read_session() as session:
            pending = session.get(PendingRelease, pending_id)
            if pending is None or pending.state != PENDING:
                raise NotFound(f"no pending release {pending_id} of {name!r}")
            files = list(pending.files)
        md = _parse(self.store.get(pending_release_key(name, pending_id)))
        if md.signed.version != info.version + 1:
            raise ReleaseRejected(
                f"pending release {pending_id} is stale: it is version {md.signed.version}, "
                f"the project is at version {info.version}",
                status=409,
            )
        self._check_expiry(md.signed)
        for signature in signatures:
            md.signatures[signature.keyid] = signature
        signed_by = self._check_signatures(md, info, partial_ok=True)
        if len(signed_by) < info.threshold:
            self.store.put(pending_release_key(name, pending_id), md.to_bytes())
            return ReleaseOutcome(
                PENDING, md.signed.version, sorted(signed_by), info.threshold, pending_id
            )
        dists = [
            self._stored_distribution(name, str(f["filename"]), str(f["sha256"])) for f in files
        ]
        outcome = self._accept(name, md, signed_by, info, dists)
        with self.db.session() as session:
            row = session.get(PendingRelease, pending_id)
            if row is not None:
                row.state = ACCEPTED
        return outcome

    def pending(self, project: str) -> list[tuple[int, bytes]]:
        """Pending releases of a project: ``(id, metadata bytes)``."""
        name = canonicalize_name(project)
        with self.db.read_session() as session:
            proj = session.scalar(select(Project).where(Project.name == name))
            if proj is None:
                raise NotFound(f"no project {name!r}")
            ids = list(
                session.scalars(
                    select(PendingRelease.id).where(
                        PendingRelease.project_id == proj.id, PendingRelease.state == PENDING
                    )
                )
            )
        return [(i, self.store.get(pending_release_key(name, i))) for i in ids]

    # -- checks --------------------------------------------------------------

    def _context(
        self, identity: Identity, name: NormalizedName
    ) -> tuple[ClaimInfo, Targets | None, dict[str, File]]:
        with self.db.read_session() as session:
            proj = session.scalar(select(Project).where(Project.name == name))
            if proj is None:
                raise NotFound(f"no project {name!r}")
            info = claim_info(session, proj)
            if info is None:
                raise ReleaseRejected(
                    f"project {name!r} is not claimed: it is index-signed",
                    status=409,
                    hint="claim it with `endorse claim`, or upload with twine",
                )
            if not identity.may_touch(name) or not _is_maintainer(
                session, proj.id, identity.user_id
            ):
                raise PermissionDenied(
                    f"{identity.username!r} is not a maintainer of the claim of {name!r}"
                )
            existing = {
                f.filename: f
                for f in session.scalars(select(File).where(File.project_id == proj.id))
            }
            latest = session.scalar(
                select(ProjectRoleVersion.blob_key)
                .where(ProjectRoleVersion.project_id == proj.id)
                .order_by(ProjectRoleVersion.version.desc())
                .limit(1)
            )
        previous = _parse(self.store.get(latest)).signed if latest else None
        if info.state == CLAIMED_STATE:
            info = self._as_published(info)
        return info, previous, existing

    def _as_published(self, info: ClaimInfo) -> ClaimInfo:
        """Only keys that the published ``claimed`` delegates to count for a claimed
        project: keys registered since the last signing event wait for the next."""
        role = PublishedMetadata(self.store, timestamp_ttl=0).role(CLAIMED).signed
        roles = role.delegations.roles if role.delegations else None
        delegated = roles.get(info.role) if roles else None
        if delegated is None:
            return info
        keyids = set(delegated.keyids)
        maintainers = {
            m: [k for k in keys if k.keyid in keyids] for m, keys in info.maintainers.items()
        }
        return replace(info, maintainers=maintainers)

    def _check_metadata(self, md: Metadata[Targets], info: ClaimInfo) -> None:
        targets = md.signed
        self._check_expiry(targets)
        if targets.version != info.version + 1:
            raise ReleaseRejected(
                f"version must increase by one: got {targets.version}, the project's role "
                f"is at version {info.version}",
                hint="rebuild the release with `endorse upload`, which reads the current version",
            )
        if targets.delegations is not None:
            raise ReleaseRejected("a project role may not delegate further")
        prefix = f"{project_prefix(info.name)}/{info.name}/"
        for path in targets.targets:
            try:
                target_name, basename, digest = parse_target_path(path)
            except ValueError as e:
                raise ReleaseRejected(
                    f"target {path!r} is outside the project's delegated paths ({prefix}*)"
                ) from e
            if target_name != info.name or digest is not None:
                raise ReleaseRejected(
                    f"target {path!r} is outside the project's delegated paths ({prefix}*)"
                )
            if basename in LISTING_FILENAMES.values():
                raise ReleaseRejected(
                    f"target {path!r}: listings are built from the signed files, do not sign them"
                )
            if "sha256" not in targets.targets[path].hashes:
                raise ReleaseRejected(f"target {path!r} has no sha256 hash")

    def _check_expiry(self, targets: Targets) -> None:
        now = self.clock.now()
        if targets.is_expired(now):
            raise ReleaseRejected(f"the signed metadata expired at {targets.expires.isoformat()}")
        if targets.expires > now + MAX_ROLE_LIFETIME:
            raise ReleaseRejected(
                f"the signed metadata expires {targets.expires.isoformat()}, more than "
                f"{MAX_ROLE_LIFETIME.days} days ahead",
                hint="an old version could be replayed to new clients until it expires",
            )

    def _check_files(
        self,
        md: Metadata[Targets],
        info: ClaimInfo,
        previous: Targets | None,
        existing: dict[str, File],
        uploads: Sequence[tuple[str, Path]],
    ) -> list[tuple[Distribution, Path]]:
        targets = md.signed.targets
        by_basename = {path.rsplit("/", 1)[1]: t for path, t in targets.items()}
        uploaded: dict[str, tuple[Distribution, Path]] = {}
        with self.db.read_session() as session:
            for filename, path in uploads:
                target = by_basename.get(filename)
                if target is None:
                    raise ReleaseRejected(
                        f"uploaded file {filename!r} is not in the signed metadata"
                    )
                if session.get(FileRegistry, filename) is not None:
                    raise ReleaseRejected(
                        f"File already exists ({filename!r}): a filename can be uploaded only once"
                    )
                dist = inspect_distribution(path, filename)
                if dist.name != info.name:
                    raise ReleaseRejected(f"{filename!r} is not a file of {info.name!r}")
                _match(filename, target, dist.size, dist.sha256)
                uploaded[filename] = (dist, path)
        for basename, target in by_basename.items():
            if basename in uploaded:
                continue
            if basename.endswith(".metadata"):
                wheel = basename.removesuffix(".metadata")
                core = _core_of(uploaded.get(wheel), existing.get(wheel))
                if core is None:
                    raise ReleaseRejected(f"target {basename!r} names no wheel of this release")
                _match(basename, target, core[1], core[0])
                continue
            known = existing.get(basename)
            if known is None or known.removed:
                raise ReleaseRejected(
                    f"the signed metadata lists {basename!r}, but it was neither uploaded "
                    "nor already on the index"
                )
            _match(basename, target, known.size, known.sha256)
        for filename, (dist, _) in uploaded.items():
            if dist.core_metadata is not None and f"{filename}.metadata" not in by_basename:
                raise ReleaseRejected(
                    f"wheel {filename!r} needs its core metadata signed too "
                    f"({filename}.metadata, PEP 658)"
                )
        del previous  # removals (targets in the previous version only) are allowed
        return list(uploaded.values())

    def _check_signatures(
        self, md: Metadata[Targets], info: ClaimInfo, *, partial_ok: bool
    ) -> set[str]:
        owner = {k.keyid: (m, k) for m, keys in info.maintainers.items() for k in keys}
        payload = md.signed_bytes
        signed_by: set[str] = set()
        for keyid, signature in md.signatures.items():
            entry = owner.get(keyid)
            if entry is None:
                raise ReleaseRejected(
                    f"signature by key {keyid[:12]}, which is not a registered key of a "
                    f"maintainer of {info.name!r}",
                    status=403,
                    hint="register the key with `endorse key register`, or sign with another",
                )
            maintainer, key = entry
            try:
                key.verify_signature(signature, payload)
            except UnverifiedSignatureError as e:
                raise ReleaseRejected(
                    f"the signature by key {keyid[:12]} ({maintainer}) does not verify",
                    status=403,
                ) from e
            signed_by.add(maintainer)
        if not signed_by:
            raise ReleaseRejected("the metadata carries no signature", status=403)
        if not partial_ok and len(signed_by) < info.threshold:
            raise ReleaseRejected(
                f"signed by {len(signed_by)} of the {info.threshold} maintainers needed",
                status=403,
            )
        return signed_by

    # -- recording -----------------------------------------------------------

    def _hold(
        self,
        identity: Identity,
        name: NormalizedName,
        md: Metadata[Targets],
        dists: list[tuple[Distribution, Path]],
        signed_by: set[str],
        info: ClaimInfo,
    ) -> ReleaseOutcome:
        with self.db.session() as session:
            proj = session.scalar(select(Project).where(Project.name == name))
            assert proj is not None  # noqa: S101 - checked in _context
            pending = PendingRelease(
                project_id=proj.id,
                version=md.signed.version,
                blob_key="",
                files=[{"filename": d.filename, "sha256": d.sha256} for d, _ in dists],
                created_by=identity.user_id,
            )
            session.add(pending)
            session.flush()
            pending.blob_key = pending_release_key(name, pending.id)
            self.store.put(pending.blob_key, md.to_bytes())
            pending_id = pending.id
        logger.info("release v%d of %s waits for co-signatures", md.signed.version, name)
        return ReleaseOutcome(
            PENDING,
            md.signed.version,
            sorted(signed_by),
            info.threshold,
            pending_id,
            [d.filename for d, _ in dists],
        )

    def _accept(
        self,
        name: NormalizedName,
        md: Metadata[Targets],
        signed_by: set[str],
        info: ClaimInfo,
        dists: list[Distribution],
    ) -> ReleaseOutcome:
        version = md.signed.version
        key = developer_role_key(name, version)
        self.store.put(key, md.to_bytes())
        signed_files = {p.rsplit("/", 1)[1] for p in md.signed.targets}
        with self.db.session() as session:
            proj = session.scalar(select(Project).where(Project.name == name))
            assert proj is not None  # noqa: S101 - checked in _context
            if session.scalar(
                select(ProjectRoleVersion).where(
                    ProjectRoleVersion.project_id == proj.id, ProjectRoleVersion.version == version
                )
            ):
                raise ReleaseRejected(f"version {version} was accepted meanwhile", status=409)
            for dist in dists:
                if session.get(FileRegistry, dist.filename) is not None:
                    raise ReleaseRejected(f"File already exists ({dist.filename!r})")
                session.add(_file_record(proj.id, dist, TrustLevel.DEVELOPER_SIGNED, None))
                session.add(FileRegistry(filename=dist.filename))
            for f in session.scalars(select(File).where(File.project_id == proj.id)):
                if f.filename in signed_files:
                    f.trust_level = int(TrustLevel.DEVELOPER_SIGNED)
            session.add(ProjectRoleVersion(project_id=proj.id, version=version, blob_key=key))
            claim = session.get(ProjectClaim, proj.id)
            assert claim is not None  # noqa: S101 - checked in _context
            if claim.state == PENDING:
                claim.state = RECENTLY_CLAIMED_STATE
                claim.delegation_dirty = True
            session.add(QueueEntry(project_id=proj.id))
        logger.info("accepted signed release v%d of %s (by %s)", version, name, sorted(signed_by))
        return ReleaseOutcome(
            ACCEPTED, version, sorted(signed_by), info.threshold, None, [d.filename for d in dists]
        )

    def _stored_distribution(
        self, name: NormalizedName, filename: str, sha256: str
    ) -> Distribution:
        from endorse.metadata.paths import file_target

        data = self.store.get(target_key(file_target(name, filename), sha256))
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "dist"
            path.write_bytes(data)
            return inspect_distribution(path, filename)


def _parse(data: bytes) -> Metadata[Targets]:
    try:
        md = Metadata[Targets].from_bytes(data)
    except (DeserializationError, ValueError, TypeError) as e:
        raise ReleaseRejected(f"not valid TUF targets metadata: {e}") from e
    if not isinstance(md.signed, Targets):
        raise ReleaseRejected(f"expected targets metadata, got {md.signed.type!r}")
    return md


def _match(filename: str, target: TargetFile, size: int, sha256: str) -> None:
    if target.length != size or target.hashes.get("sha256") != sha256:
        raise ReleaseRejected(
            f"the signed metadata and the file {filename!r} disagree "
            f"(signed: {target.length} bytes, sha256 {target.hashes.get('sha256')}; "
            f"file: {size} bytes, sha256 {sha256})"
        )


def _core_of(
    uploaded: tuple[Distribution, Path] | None, existing: File | None
) -> tuple[str, int] | None:
    if uploaded is not None and uploaded[0].core_metadata is not None:
        core = uploaded[0].core_metadata
        return hashlib.sha256(core).hexdigest(), len(core)
    if existing is not None and existing.core_metadata_sha256 and existing.core_metadata_size:
        return existing.core_metadata_sha256, existing.core_metadata_size
    return None


def _is_maintainer(session: Session, project_id: int, user_id: int) -> bool:
    return (
        session.scalar(
            select(ClaimMaintainer).where(
                ClaimMaintainer.project_id == project_id, ClaimMaintainer.user_id == user_id
            )
        )
        is not None
    )


__all__ = ["ReleaseOutcome", "ReleaseRejected", "Releases"]
