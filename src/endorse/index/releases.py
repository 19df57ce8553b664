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

from packaging.utils import NormalizedName
from securesystemslib.exceptions import UnverifiedSignatureError
from securesystemslib.signer import Signature
from tuf.api.metadata import Metadata, TargetFile, Targets
from tuf.api.serialization import DeserializationError

from endorse.clock import Clock, SystemClock
from endorse.errors import Conflict, NotFound, PermissionDenied, ReleaseRejected
from endorse.index.accounts import Identity
from endorse.index.claims import ClaimInfo, claim_info
from endorse.index.projects import require_project
from endorse.index.uploads import Uploads, file_exists, file_record, refuse_closed
from endorse.metadata.paths import LISTING_FILENAMES, file_target, parse_target_path, project_dir
from endorse.metadata.roles import CLAIMED
from endorse.metadata.storage_keys import developer_role_key, pending_release_key, target_key
from endorse.metadata.trust import TrustLevel
from endorse.packages.distributions import Distribution, inspect_distribution
from endorse.states import ClaimState, ReleaseState
from endorse.storage import BlobStore
from endorse.storage.db import (
    Database,
    File,
    FileRegistry,
    PendingRelease,
    ProjectRoleVersion,
    QueueEntry,
    queries,
)
from endorse.storage.published import PublishedMetadata

logger = logging.getLogger(__name__)

__all__ = ["MAX_RELEASE_FILES", "MAX_ROLE_LIFETIME", "ReleaseOutcome", "Releases"]

#: Longest validity a developer may give a project role version.
MAX_ROLE_LIFETIME = timedelta(days=731)
#: A release may carry this many files at most.
MAX_RELEASE_FILES = 100


@dataclass(frozen=True)
class ReleaseOutcome:
    """What happened to a submitted release."""

    state: ReleaseState
    version: int
    signed_by: list[str]
    threshold: int
    pending_id: int | None = None
    files: list[str] = field(default_factory=list)

    @classmethod
    def of(
        cls,
        state: ReleaseState,
        md: Metadata[Targets],
        signed_by: set[str],
        info: ClaimInfo,
        pending_id: int | None = None,
        files: Sequence[str] = (),
    ) -> ReleaseOutcome:
        """The outcome of the release ``md`` of the claim ``info``."""
        return cls(
            state, md.signed.version, sorted(signed_by), info.threshold, pending_id, [*files]
        )


@dataclass(frozen=True)
class _Context:
    """What a release is checked against: the claim, and the project's files by name."""

    info: ClaimInfo
    existing: dict[str, File]


class Releases:
    """Checks and records signed releases."""

    def __init__(
        self, db: Database, store: BlobStore, uploads: Uploads, clock: Clock | None = None
    ) -> None:
        self.db = db
        self.store = store
        self.uploads = uploads
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
        context = self._context(identity, project)
        info = context.info
        md = _parse(metadata)
        self._check_metadata(md, info)
        signed_by = self._check_signatures(md, info)
        dists = self._check_files(md, info, context.existing, uploads)
        for dist, path in dists:
            self.uploads.store_distribution(dist, path)
        if len(signed_by) < info.threshold:
            return self._hold(identity, md, dists, signed_by, info)
        return self._accept(md, signed_by, info, [d for d, _ in dists])

    def add_signatures(
        self, identity: Identity, project: str, pending_id: int, signatures: Sequence[Signature]
    ) -> ReleaseOutcome:
        """Add co-signatures to a pending release; accept it once the threshold is met."""
        info = self._context(identity, project).info
        with self.db.read_session() as session:
            pending = queries.pending_release(session, pending_id)
            if pending is None or pending.state is not ReleaseState.PENDING:
                raise NotFound(f"no pending release {pending_id} of {info.name!r}")
            files = list(pending.files)
        md = _parse(self.store.get(pending_release_key(info.name, pending_id)))
        if md.signed.version != info.version + 1:
            raise Conflict(
                f"pending release {pending_id} is stale: it is version {md.signed.version}, "
                f"the project is at version {info.version}"
            )
        self._check_expiry(md.signed)
        for signature in signatures:
            md.signatures[signature.keyid] = signature
        signed_by = self._check_signatures(md, info)
        if len(signed_by) < info.threshold:
            self.store.put(pending_release_key(info.name, pending_id), md.to_bytes())
            return ReleaseOutcome.of(ReleaseState.PENDING, md, signed_by, info, pending_id)
        dists = [
            self._stored_distribution(info.name, str(f["filename"]), str(f["sha256"]))
            for f in files
        ]
        outcome = self._accept(md, signed_by, info, dists)
        with self.db.session() as session:
            row = queries.pending_release(session, pending_id)
            if row is not None:
                row.state = ReleaseState.ACCEPTED
        return outcome

    def pending(self, project: str) -> list[tuple[int, bytes]]:
        """Pending releases of a project: ``(id, metadata bytes)``."""
        with self.db.read_session() as session:
            proj = require_project(session, project)
            name = NormalizedName(proj.name)
            ids = queries.pending_release_ids(session, proj.id)
        return [(i, self.store.get(pending_release_key(name, i))) for i in ids]

    # -- checks --------------------------------------------------------------

    def _context(self, identity: Identity, project: str) -> _Context:
        with self.db.read_session() as session:
            proj = require_project(session, project)
            name = NormalizedName(proj.name)
            info = claim_info(session, proj)
            if info is None:
                raise Conflict(
                    f"project {name!r} is not claimed: it is index-signed",
                    hint="claim it with `endorse claim`, or upload with twine",
                )
            if not identity.may_touch(name) or not queries.maintains_claim(
                session, proj.id, identity.user_id
            ):
                raise PermissionDenied(
                    f"{identity.username!r} is not a maintainer of the claim of {name!r}"
                )
            refuse_closed(proj)
            existing = {f.filename: f for f in queries.project_files(session, proj.id)}
        if info.state is ClaimState.CLAIMED:
            info = self._as_published(info)
        return _Context(info, existing)

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
        folder = f"{project_dir(info.name)}/"
        for path, target in targets.targets.items():
            try:
                target_name, basename, digest = parse_target_path(path)
            except ValueError as e:
                raise ReleaseRejected(
                    f"target {path!r} is outside the project's delegated paths ({folder}*)"
                ) from e
            if target_name != info.name or digest is not None:
                raise ReleaseRejected(
                    f"target {path!r} is outside the project's delegated paths ({folder}*)"
                )
            if basename in LISTING_FILENAMES.values():
                raise ReleaseRejected(
                    f"target {path!r}: listings are built from the signed files, do not sign them"
                )
            if "sha256" not in target.hashes:
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
        existing: dict[str, File],
        uploads: Sequence[tuple[str, Path]],
    ) -> list[tuple[Distribution, Path]]:
        """Every uploaded file is signed, and every signed target is uploaded or known.

        Targets of the previous version that this one leaves out are allowed:
        that is how a release drops a file from the listing.
        """
        by_basename = {path.rsplit("/", 1)[1]: t for path, t in md.signed.targets.items()}
        uploaded = self._check_uploaded(info, by_basename, uploads)
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
        return list(uploaded.values())

    def _check_uploaded(
        self,
        info: ClaimInfo,
        by_basename: dict[str, TargetFile],
        uploads: Sequence[tuple[str, Path]],
    ) -> dict[str, tuple[Distribution, Path]]:
        uploaded: dict[str, tuple[Distribution, Path]] = {}
        with self.db.read_session() as session:
            for filename, path in uploads:
                target = by_basename.get(filename)
                if target is None:
                    raise ReleaseRejected(
                        f"uploaded file {filename!r} is not in the signed metadata"
                    )
                if queries.filename_registered(session, filename):
                    raise ReleaseRejected(
                        f"File already exists ({filename!r}): a filename can be uploaded only once"
                    )
                dist = inspect_distribution(path, filename)
                if dist.name != info.name:
                    raise ReleaseRejected(f"{filename!r} is not a file of {info.name!r}")
                _match(filename, target, dist.size, dist.sha256)
                uploaded[filename] = (dist, path)
        return uploaded

    def _check_signatures(self, md: Metadata[Targets], info: ClaimInfo) -> set[str]:
        """The distinct maintainers who signed; refuses any unknown or bad signature."""
        owner = {k.keyid: (m, k) for m, keys in info.maintainers.items() for k in keys}
        payload = md.signed_bytes
        signed_by: set[str] = set()
        for keyid, signature in md.signatures.items():
            entry = owner.get(keyid)
            if entry is None:
                raise PermissionDenied(
                    f"signature by key {keyid[:12]}, which is not a registered key of a "
                    f"maintainer of {info.name!r}",
                    hint="register the key with `endorse key register`, or sign with another",
                )
            maintainer, key = entry
            try:
                key.verify_signature(signature, payload)
            except UnverifiedSignatureError as e:
                raise PermissionDenied(
                    f"the signature by key {keyid[:12]} ({maintainer}) does not verify"
                ) from e
            signed_by.add(maintainer)
        if not signed_by:
            raise PermissionDenied("the metadata carries no signature")
        return signed_by

    # -- recording -----------------------------------------------------------

    def _hold(
        self,
        identity: Identity,
        md: Metadata[Targets],
        dists: list[tuple[Distribution, Path]],
        signed_by: set[str],
        info: ClaimInfo,
    ) -> ReleaseOutcome:
        with self.db.session() as session:
            proj = require_project(session, info.name)
            pending = PendingRelease(
                project_id=proj.id,
                version=md.signed.version,
                blob_key="",
                files=[{"filename": d.filename, "sha256": d.sha256} for d, _ in dists],
                created_by=identity.user_id,
            )
            session.add(pending)
            session.flush()
            pending.blob_key = pending_release_key(info.name, pending.id)
            self.store.put(pending.blob_key, md.to_bytes())
            pending_id = pending.id
        logger.info("release v%d of %s waits for co-signatures", md.signed.version, info.name)
        files = [d.filename for d, _ in dists]
        return ReleaseOutcome.of(ReleaseState.PENDING, md, signed_by, info, pending_id, files)

    def _accept(
        self,
        md: Metadata[Targets],
        signed_by: set[str],
        info: ClaimInfo,
        dists: list[Distribution],
    ) -> ReleaseOutcome:
        version = md.signed.version
        key = developer_role_key(info.name, version)
        self.store.put(key, md.to_bytes())
        signed_files = {p.rsplit("/", 1)[1] for p in md.signed.targets}
        with self.db.session() as session:
            proj = require_project(session, info.name)
            if queries.role_version(session, proj.id, version) is not None:
                raise Conflict(f"version {version} was accepted meanwhile")
            for dist in dists:
                if queries.filename_registered(session, dist.filename):
                    raise file_exists(dist.filename)
                session.add(file_record(proj.id, dist, TrustLevel.DEVELOPER_SIGNED, None))
                session.add(FileRegistry(filename=dist.filename))
            for f in queries.project_files(session, proj.id):
                if f.filename in signed_files:
                    f.trust_level = int(TrustLevel.DEVELOPER_SIGNED)
            session.add(ProjectRoleVersion(project_id=proj.id, version=version, blob_key=key))
            claim = queries.claim_of(session, proj.id)
            assert claim is not None  # noqa: S101 - checked in _context
            if claim.state is ClaimState.PENDING:
                claim.state = ClaimState.RECENTLY_CLAIMED
                claim.delegation_dirty = True
            session.add(QueueEntry(project_id=proj.id))
        logger.info(
            "accepted signed release v%d of %s (by %s)", version, info.name, sorted(signed_by)
        )
        files = [d.filename for d in dists]
        return ReleaseOutcome.of(ReleaseState.ACCEPTED, md, signed_by, info, None, files)

    def _stored_distribution(
        self, name: NormalizedName, filename: str, sha256: str
    ) -> Distribution:
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
