"""Accepting a checked distribution: store its bytes, record it, queue it.

An upload is acknowledged only after this returns, i.e. after the bytes are
stored and one database transaction has recorded the file, its filename (for
ever) and a queue entry for the publisher. Nothing is signed here.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from endorse.errors import NotFound, UploadRejected
from endorse.index.accounts import OWNER, Identity, check_upload_rights
from endorse.index.claims import refuse_unsigned_upload
from endorse.metadata.paths import core_metadata_target, file_target
from endorse.metadata.storage_keys import target_key
from endorse.metadata.trust import TrustLevel
from endorse.packages.distributions import Distribution
from endorse.packages.names import confusable_key
from endorse.storage.blobs import BlobStore
from endorse.storage.db import (
    Database,
    File,
    FileRegistry,
    Project,
    ProjectClaim,
    ProjectMember,
    QueueEntry,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Accepted:
    """A durably recorded upload."""

    file_id: int
    project: NormalizedName
    filename: str


def check_filename_unused(db: Database, filename: str) -> None:
    """Refuse a filename that was ever accepted (even if since removed)."""
    with db.read_session() as session:
        if session.get(FileRegistry, filename) is not None:
            raise _exists(filename)


def precheck_upload(db: Database, dist: Distribution, identity: Identity) -> None:
    """Every refusal ``record_upload`` would make, checked before any byte is stored."""
    with db.read_session() as session:
        if session.get(FileRegistry, dist.filename) is not None:
            raise _exists(dist.filename)
        project = session.scalar(select(Project).where(Project.name == dist.name))
        if project is None:
            _check_new_project(session, dist.name, identity)
        else:
            refuse_unsigned_upload(session, project)
            check_upload_rights(session, identity, project)


def discard_distribution(db: Database, store: BlobStore, dist: Distribution) -> None:
    """Remove stored bytes of a refused upload (unless the filename was recorded)."""
    with db.read_session() as session:
        if session.get(FileRegistry, dist.filename) is not None:
            return
    store.delete(target_key(file_target(dist.name, dist.filename), dist.sha256))
    if dist.core_metadata is not None:
        core_sha = hashlib.sha256(dist.core_metadata).hexdigest()
        store.delete(target_key(core_metadata_target(dist.name, dist.filename), core_sha))


def store_distribution(store: BlobStore, dist: Distribution, path: Path) -> None:
    """Write the file and its core metadata under their target keys."""
    store.put_file(target_key(file_target(dist.name, dist.filename), dist.sha256), path)
    if dist.core_metadata is not None:
        core_sha = hashlib.sha256(dist.core_metadata).hexdigest()
        store.put(
            target_key(core_metadata_target(dist.name, dist.filename), core_sha), dist.core_metadata
        )


def record_upload(
    db: Database,
    dist: Distribution,
    identity: Identity | None,
    *,
    display_name: str | None = None,
    trust: TrustLevel | None = None,
) -> Accepted:
    """Record a stored distribution and queue its project, in one transaction.

    ``identity`` None is an administrator's import: no upload rights are
    checked and the project gets no owner unless one is added later.
    """
    for _attempt in range(3):
        try:
            with db.session() as session:
                return _record(session, dist, identity, display_name, trust)
        except IntegrityError as e:
            # Another upload won a race for the same filename (final) or for
            # creating the same new project (retry: the project now exists).
            with db.read_session() as session:
                if session.get(FileRegistry, dist.filename) is not None:
                    raise _exists(dist.filename) from e
            logger.info("retrying %s after a concurrent upload", dist.filename)
    raise UploadRejected("a concurrent upload changed this project; please retry", status=409)


def _record(
    session: Session,
    dist: Distribution,
    identity: Identity | None,
    display_name: str | None,
    trust: TrustLevel | None,
) -> Accepted:
    if session.get(FileRegistry, dist.filename) is not None:
        raise _exists(dist.filename)
    project = session.scalar(select(Project).where(Project.name == dist.name))
    if project is None:
        project = _create_project(session, dist.name, display_name or dist.name, identity)
    else:
        refuse_unsigned_upload(session, project)
        if identity is not None:
            check_upload_rights(session, identity, project)
    level = trust or (identity.upload_trust if identity else TrustLevel.INDEX_SIGNED)
    record = _file_record(project.id, dist, level, identity.user_id if identity else None)
    session.add(record)
    session.add(FileRegistry(filename=dist.filename))
    session.add(QueueEntry(project_id=project.id))
    session.flush()
    logger.info("accepted %s (%s)", dist.filename, identity.username if identity else "import")
    return Accepted(record.id, dist.name, dist.filename)


def _check_new_project(session: Session, name: NormalizedName, identity: Identity | None) -> None:
    # The same name is not a look-alike: a concurrent upload created it, and the
    # unique constraint sends this one round the retry in record_upload.
    similar = session.scalar(
        select(Project.name).where(
            Project.confusable_key == confusable_key(name), Project.name != name
        )
    )
    if similar is not None:
        raise UploadRejected(
            f"The name {name!r} is too similar to an existing project {similar!r}.",
            hint="choose a different name",
        )
    if identity is not None and identity.token_projects is not None:
        raise UploadRejected(
            f"A project-scoped token cannot create the new project {name!r}.",
            status=403,
            hint="create the project with a password or an unscoped token first",
        )


def _create_project(
    session: Session, name: NormalizedName, display_name: str, identity: Identity | None
) -> Project:
    _check_new_project(session, name, identity)
    project = Project(name=name, display_name=display_name, confusable_key=confusable_key(name))
    session.add(project)
    session.flush()
    if identity is not None:
        session.add(ProjectMember(project_id=project.id, user_id=identity.user_id, role=OWNER))
    logger.info("created project %s", name)
    return project


def _file_record(
    project_id: int, dist: Distribution, level: TrustLevel, uploader_id: int | None
) -> File:
    core = dist.core_metadata
    return File(
        project_id=project_id,
        version=str(dist.version),
        filename=dist.filename,
        packagetype=dist.packagetype,
        python_version="source" if dist.packagetype == "sdist" else _python_tag(dist.filename),
        requires_python=dist.requires_python,
        size=dist.size,
        sha256=dist.sha256,
        blake2_256=dist.blake2_256,
        core_metadata_sha256=hashlib.sha256(core).hexdigest() if core is not None else None,
        core_metadata_size=len(core) if core is not None else None,
        uploader_id=uploader_id,
        trust_level=int(level),
    )


def _python_tag(filename: str) -> str:
    parts = filename[: -len(".whl")].split("-")
    return parts[-3] if len(parts) >= 5 else ""


def _exists(filename: str) -> UploadRejected:
    return UploadRejected(
        f"File already exists ({filename!r}): a filename can be uploaded only once, "
        "even after it was removed.",
        hint="bump the version or add a build tag",
    )


def set_yanked(db: Database, project: str, version: str, *, yanked: bool, reason: str = "") -> int:
    """Yank or un-yank every file of a release (PEP 592) and queue the project."""
    return _change_release(db, project, version, yanked=yanked, reason=reason)


def remove_files(db: Database, project: str, *, version: str | None, filename: str | None) -> int:
    """Remove a release or one file; its filename stays reserved for ever."""
    return _change_release(db, project, version, filename=filename, remove=True)


def _change_release(
    db: Database,
    project: str,
    version: str | None,
    *,
    filename: str | None = None,
    yanked: bool | None = None,
    reason: str = "",
    remove: bool = False,
) -> int:
    name = canonicalize_name(project)
    with db.session() as session:
        proj = session.scalar(select(Project).where(Project.name == name))
        if proj is None:
            raise NotFound(f"no project {name!r}")
        files = session.scalars(
            select(File).where(File.project_id == proj.id, File.removed.is_(False))
        ).all()
        chosen = [
            f
            for f in files
            if (filename is None or f.filename == filename)
            and (version is None or Version(f.version) == Version(version))
        ]
        if not chosen:
            raise NotFound(f"no matching file of {name!r} (version {version}, file {filename})")
        for f in chosen:
            if remove:
                f.removed = True
            if yanked is not None:
                f.yanked = yanked
                f.yanked_reason = reason if yanked else ""
        session.add(QueueEntry(project_id=proj.id))
        return len(chosen)


def record_imports(
    db: Database, dists: list[Distribution], owner_id: int | None
) -> tuple[int, list[tuple[str, str]]]:
    """Record many stored distributions in one transaction (bulk import).

    Returns how many were recorded and ``(filename, reason)`` for each skipped.
    """
    skipped: list[tuple[str, str]] = []
    recorded = 0
    with db.session() as session:
        projects: dict[str, Project] = {}
        queued: set[int] = set()
        for dist in dists:
            if session.get(FileRegistry, dist.filename) is not None:
                skipped.append((dist.filename, "filename already exists"))
                continue
            project = projects.get(dist.name) or session.scalar(
                select(Project).where(Project.name == dist.name)
            )
            if project is not None and session.get(ProjectClaim, project.id) is not None:
                skipped.append((dist.filename, "project is claimed: its developers sign its files"))
                continue
            if project is None:
                key = confusable_key(dist.name)
                similar = session.scalar(select(Project.name).where(Project.confusable_key == key))
                if similar is not None:
                    skipped.append((dist.filename, f"name too similar to {similar!r}"))
                    continue
                project = Project(name=dist.name, display_name=dist.name, confusable_key=key)
                session.add(project)
                session.flush()
                if owner_id is not None:
                    session.add(ProjectMember(project_id=project.id, user_id=owner_id, role=OWNER))
            projects[dist.name] = project
            session.add(_file_record(project.id, dist, TrustLevel.INDEX_SIGNED, None))
            session.add(FileRegistry(filename=dist.filename))
            if project.id not in queued:
                session.add(QueueEntry(project_id=project.id))
                queued.add(project.id)
            recorded += 1
    return recorded, skipped
