"""Accepting an upload: check it completely, store its bytes, record it, queue it.

One path, in this order: the declared digests are well formed, the filename
was never accepted, the file is a valid distribution that agrees with what
was declared, the uploader may add it (a new project's name is not a
look-alike; the project is not claimed), then the bytes are stored and one
database transaction records the file, its filename (for ever) and a queue
entry. The checks that a concurrent upload can change run again inside that
transaction; if it refuses, the stored bytes are removed again. An upload is
acknowledged only after this returns. Nothing is signed here.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import InvalidName, NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from endorse.errors import (
    Conflict,
    EndorseError,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    UploadRejected,
    UserError,
)
from endorse.index.accounts import Identity, check_upload_rights
from endorse.index.projects import create_project, find_project, refuse_confusable, require_project
from endorse.metadata.paths import core_metadata_target, file_target
from endorse.metadata.storage_keys import target_key
from endorse.metadata.trust import TrustLevel
from endorse.packages.distributions import Distribution, inspect_distribution
from endorse.states import ProjectStatus
from endorse.storage import BlobStore
from endorse.storage.db import (
    Database,
    File,
    FileRegistry,
    Project,
    QueueEntry,
    RaceLost,
    Session,
    queries,
)

logger = logging.getLogger(__name__)

__all__ = [
    "DIGEST_FIELDS",
    "Accepted",
    "UploadRequest",
    "Uploads",
    "file_exists",
    "file_record",
    "refuse_claimed",
]

#: The legacy API's digest fields and the attribute of :class:`Distribution` each names.
DIGEST_FIELDS = {"sha256_digest": "sha256", "blake2_256_digest": "blake2_256", "md5_digest": "md5"}
_HEX = re.compile(r"[0-9a-f]{32,128}")
#: Attempts at recording an upload that lost a race to a concurrent one.
RECORD_ATTEMPTS = 3


@dataclass(frozen=True)
class UploadRequest:
    """What an upload declares beside the file (twine's form fields)."""

    filename: str
    name: str
    version: str
    #: ``bdist_wheel`` or ``sdist``, when declared.
    filetype: str | None
    #: Digest field -> lower-case hex value, e.g. ``{"sha256_digest": "3f2a..."}``.
    digests: Mapping[str, str]


@dataclass(frozen=True)
class Accepted:
    """A durably recorded upload."""

    file_id: int
    project: NormalizedName
    filename: str


class Uploads:
    """Accepts uploads and changes releases (yank, remove) on the index."""

    def __init__(self, db: Database, store: BlobStore) -> None:
        self.db = db
        self.store = store

    def accept(self, request: UploadRequest, path: Path, identity: Identity) -> Accepted:
        """Check the upload in ``path`` completely, then store and record it."""
        _check_digest_fields(request.digests)
        with self.db.read_session() as session:
            # The rights first: a project's filenames are no business of a credential
            # that may not upload to it (and "File already exists" would mislead it).
            declared = _declared_project(request.name)
            if declared is not None:
                _check_rights(session, declared, identity)
            refuse_known_filename(session, request.filename)
        dist = inspect_distribution(
            path,
            request.filename,
            declared_name=request.name,
            declared_version=request.version,
            declared_type=request.filetype,
        )
        _check_digests(dist, request.digests)
        with self.db.read_session() as session:
            _check_allowed(session, dist, identity)
        self.store_distribution(dist, path)
        try:
            return self._record(dist, identity, request.name)
        except EndorseError:
            self.discard_distribution(dist)
            raise

    def is_published(self, file_id: int) -> bool:
        """Whether metadata covering an accepted upload has been published."""
        with self.db.read_session() as session:
            return queries.is_file_published(session, file_id)

    def store_distribution(self, dist: Distribution, path: Path) -> None:
        """Write the file and its core metadata under their target keys."""
        self.store.put_file(target_key(file_target(dist.name, dist.filename), dist.sha256), path)
        if dist.core_metadata is not None:
            self.store.put(_core_metadata_key(dist), dist.core_metadata)

    def discard_distribution(self, dist: Distribution) -> None:
        """Remove the stored bytes of a refused upload (unless its filename was recorded)."""
        with self.db.read_session() as session:
            if queries.filename_registered(session, dist.filename):
                return
        self.store.delete(target_key(file_target(dist.name, dist.filename), dist.sha256))
        if dist.core_metadata is not None:
            self.store.delete(_core_metadata_key(dist))

    def _record(self, dist: Distribution, identity: Identity, display_name: str) -> Accepted:
        for _attempt in range(RECORD_ATTEMPTS):
            try:
                with self.db.session() as session:
                    project = _check_allowed(session, dist, identity) or create_project(
                        session, dist.name, display_name, identity.user_id
                    )
                    record = file_record(project.id, dist, identity.upload_trust, identity.user_id)
                    session.add(record)
                    session.add(FileRegistry(filename=dist.filename))
                    session.add(QueueEntry(project_id=project.id))
                    session.flush()
                    logger.info("accepted %s (%s)", dist.filename, identity.username)
                    return Accepted(record.id, dist.name, dist.filename)
            except RaceLost as e:
                # Another upload won the race for this filename (final) or for
                # creating the same new project (the retry finds it).
                with self.db.read_session() as session:
                    if queries.filename_registered(session, dist.filename):
                        raise file_exists(dist.filename) from e
                logger.info("retrying %s after a concurrent upload", dist.filename)
        raise Conflict("a concurrent upload changed this project; please retry")

    def set_yanked(self, project: str, version: str, *, yanked: bool, reason: str = "") -> int:
        """Yank or un-yank every file of a release (PEP 592) and queue the project."""
        with self.db.session() as session:
            proj = require_project(session, project)
            chosen = _release_files(session, proj, version, None)
            for f in chosen:
                f.yanked = yanked
                f.yanked_reason = reason if yanked else ""
            session.add(QueueEntry(project_id=proj.id))
            return len(chosen)

    def remove_files(self, project: str, *, version: str | None, filename: str | None) -> int:
        """Remove a release or one file; its filename stays reserved for ever."""
        with self.db.session() as session:
            proj = require_project(session, project)
            chosen = _release_files(session, proj, version, filename)
            for f in chosen:
                f.removed = True
            session.add(QueueEntry(project_id=proj.id))
            return len(chosen)

    def record_imports(self, dists: list[Distribution], owner_id: int | None) -> ImportedChunk:
        """Record many stored distributions in one transaction (an administrator's import).

        No upload rights are checked; a new project is owned by ``owner_id``
        when given. A distribution the index refuses (a claimed project, a
        look-alike name) is not recorded and its stored bytes are removed.
        """
        chunk = ImportedChunk()
        with self.db.session() as session:
            queued: set[int] = set()
            for dist in dists:
                try:
                    refuse_known_filename(session, dist.filename)
                    project = find_project(session, dist.name)
                    if project is None:
                        refuse_confusable(session, dist.name)
                        project = create_project(session, dist.name, dist.name, owner_id)
                        chunk.created.append(dist.name)
                    refuse_claimed(session, project)
                except UserError as e:
                    chunk.refused.append((dist, e.message))
                    continue
                session.add(file_record(project.id, dist, TrustLevel.INDEX_SIGNED, None))
                session.add(FileRegistry(filename=dist.filename))
                if project.id not in queued:
                    session.add(QueueEntry(project_id=project.id))
                    queued.add(project.id)
                chunk.recorded += 1
        for dist, _reason in chunk.refused:
            self.discard_distribution(dist)
        return chunk

    def registered(self, filenames: list[str]) -> set[str]:
        """Which of ``filenames`` the index accepted before (ever)."""
        with self.db.read_session() as session:
            return queries.registered_filenames(session, filenames)


@dataclass
class ImportedChunk:
    """What one transaction of an import recorded, created and refused."""

    recorded: int = 0
    #: New projects (normalised names).
    created: list[NormalizedName] = dataclasses.field(default_factory=list)
    refused: list[tuple[Distribution, str]] = dataclasses.field(default_factory=list)


def _check_allowed(session: Session, dist: Distribution, identity: Identity) -> Project | None:
    """Every refusal that depends on the index's state; the project, or None if it is new."""
    project = _check_rights(session, dist.name, identity)
    refuse_known_filename(session, dist.filename)
    return project


def _check_rights(session: Session, name: NormalizedName, identity: Identity) -> Project | None:
    """Whether ``identity`` may upload to project ``name``; the project, or None if it is new."""
    project = find_project(session, name)
    if project is None:
        refuse_confusable(session, name)
        if identity.token_projects is not None:
            raise PermissionDenied(
                f"A project-scoped token cannot create the new project {name!r}.",
                hint="create the project with a password or an unscoped token first",
            )
        return None
    refuse_claimed(session, project)
    check_upload_rights(session, identity, project)
    refuse_closed(project)
    return project


def _declared_project(name: str) -> NormalizedName | None:
    """The project a form's ``name`` field names, if it is a valid project name."""
    try:
        return canonicalize_name(name, validate=True)
    except InvalidName:
        return None


def refuse_known_filename(session: Session, filename: str) -> None:
    """Refuse a filename that was ever accepted (even if since removed)."""
    if queries.filename_registered(session, filename):
        raise file_exists(filename)


def refuse_closed(project: Project) -> None:
    """An archived or quarantined project takes no new files (PEP 792)."""
    if not project.status.accepts_uploads:
        raise Conflict(
            f"Project {project.name!r} is {project.status} (PEP 792): it takes no new uploads"
            + (f" ({project.status_reason})" if project.status_reason else ""),
            hint="an owner sets it active again with `endorse project status "
            f"{project.name} active`"
            if project.status is ProjectStatus.ARCHIVED
            else "only the index's administrators can lift a quarantine",
        )


def refuse_claimed(session: Session, project: Project) -> None:
    """A plain upload never becomes a developer-signed file (DESIGN rule 2)."""
    if queries.claim_of(session, project.id) is not None:
        raise Conflict(
            f"Project {project.name!r} is claimed (PEP 480): its files must be signed by "
            "its developers.",
            hint="upload with `endorse upload dist/*`, which signs with your developer key",
        )


def file_exists(filename: str) -> UploadRejected:
    """The refusal of a filename that was accepted before."""
    return UploadRejected(
        f"File already exists ({filename!r}): a filename can be uploaded only once, "
        "even after it was removed.",
        hint="bump the version or add a build tag",
    )


def file_record(
    project_id: int, dist: Distribution, level: TrustLevel, uploader_id: int | None
) -> File:
    """The database row of an accepted distribution."""
    core = dist.core_metadata
    return File(
        project_id=project_id,
        version=str(dist.version),
        filename=dist.filename,
        packagetype=dist.packagetype,
        python_version=dist.python_version,
        requires_python=dist.requires_python,
        size=dist.size,
        sha256=dist.sha256,
        blake2_256=dist.blake2_256,
        core_metadata_sha256=hashlib.sha256(core).hexdigest() if core is not None else None,
        core_metadata_size=len(core) if core is not None else None,
        uploader_id=uploader_id,
        trust_level=int(level),
    )


def _core_metadata_key(dist: Distribution) -> str:
    assert dist.core_metadata is not None  # noqa: S101 - callers check; wheels only
    core_sha = hashlib.sha256(dist.core_metadata).hexdigest()
    return target_key(core_metadata_target(dist.name, dist.filename), core_sha)


def _check_digest_fields(digests: Mapping[str, str]) -> None:
    if not digests:
        raise UploadRejected(
            "Include at least one message digest (sha256_digest or blake2_256_digest)."
        )
    for field, value in digests.items():
        if field not in DIGEST_FIELDS:
            raise UploadRejected(f"Unknown digest field {field!r}.")
        if not _HEX.fullmatch(value):
            raise UploadRejected(f"The {field} must be hexadecimal, got {value!r}.")


def _check_digests(dist: Distribution, digests: Mapping[str, str]) -> None:
    for field, expected in digests.items():
        actual = str(getattr(dist, DIGEST_FIELDS[field]))
        if not hmac.compare_digest(actual, expected):
            raise UploadRejected(
                f"The {field} of {dist.filename!r} does not match the uploaded bytes "
                f"(declared {expected}, got {actual}).",
                hint="the file was altered or truncated in transit; upload it again",
            )


def _release_files(
    session: Session, project: Project, version: str | None, filename: str | None
) -> list[File]:
    try:
        wanted = Version(version) if version is not None else None
    except InvalidVersion as e:
        raise InvalidRequest(f"invalid version {version!r}") from e
    chosen = [
        f
        for f in queries.live_files(session, project.id)
        if (filename is None or f.filename == filename)
        and (wanted is None or Version(f.version) == wanted)
    ]
    if not chosen:
        raise NotFound(f"no matching file of {project.name!r} (version {version}, file {filename})")
    return chosen
