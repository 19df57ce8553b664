"""Projects: the one place a project is looked up by name or created."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime

from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from endorse.errors import InvalidRequest, NotFound, PermissionDenied, UploadRejected
from endorse.metadata.trust import TrustLevel
from endorse.packages.names import confusable_key
from endorse.states import ProjectRole, ProjectStatus
from endorse.storage.db import (
    Database,
    File,
    Project,
    ProjectMember,
    QueueEntry,
    Session,
    queries,
)

logger = logging.getLogger(__name__)

#: Longest reason a status marker carries (the listing repeats it).
MAX_STATUS_REASON = 500

__all__ = [
    "ProjectFile",
    "ProjectFiles",
    "Projects",
    "create_project",
    "find_project",
    "require_project",
]


def find_project(session: Session, name: str) -> Project | None:
    """The project a name (in any spelling) normalises to, or None."""
    return queries.project_by_name(session, canonicalize_name(name))


def require_project(session: Session, name: str) -> Project:
    """The project a name normalises to; NotFound when there is none."""
    project = find_project(session, name)
    if project is None:
        raise NotFound(f"no project {canonicalize_name(name)!r}")
    return project


def refuse_confusable(session: Session, name: NormalizedName) -> None:
    """Refuse a new name that folds to an existing project's confusable key.

    The same name is not a look-alike: a concurrent upload created it, and the
    unique constraint sends the second creation round a retry instead.
    """
    similar = queries.project_with_confusable_key(session, confusable_key(name), other_than=name)
    if similar is not None:
        raise UploadRejected(
            f"The name {name!r} is too similar to an existing project {similar!r}.",
            hint="choose a different name",
        )


def create_project(
    session: Session, name: NormalizedName, display_name: str, owner_id: int | None
) -> Project:
    """A new project (refused when its name is confusable), owned by ``owner_id`` if given."""
    refuse_confusable(session, name)
    project = Project(name=name, display_name=display_name, confusable_key=confusable_key(name))
    session.add(project)
    session.flush()
    if owner_id is not None:
        session.add(ProjectMember(project_id=project.id, user_id=owner_id, role=ProjectRole.OWNER))
    logger.info("created project %s", name)
    return project


@dataclass(frozen=True)
class ProjectFile:
    """What pages and the developer API show of one file."""

    filename: str
    version: str
    size: int
    sha256: str
    core_metadata_sha256: str | None
    core_metadata_size: int | None
    trust_level: TrustLevel
    yanked: bool
    yanked_reason: str
    #: When metadata covering it was first published (None: not yet).
    published: datetime | None

    @classmethod
    def of(cls, f: File) -> ProjectFile:
        """The view of a file record."""
        return cls(
            f.filename,
            f.version,
            f.size,
            f.sha256,
            f.core_metadata_sha256,
            f.core_metadata_size,
            TrustLevel(f.trust_level),
            f.yanked,
            f.yanked_reason,
            f.published,
        )


@dataclass(frozen=True)
class ProjectFiles:
    """A project and its files that are not removed, newest release first."""

    name: NormalizedName
    files: list[ProjectFile]


class Projects:
    """Views of projects for pages and the developer API, and their status markers."""

    #: Seconds a status read for a download is reused (a quarantine reaches every
    #: API process within this).
    STATUS_CACHE_SECONDS = 2.0

    def __init__(self, db: Database) -> None:
        self.db = db
        self._statuses: dict[NormalizedName, tuple[float, ProjectStatus]] = {}

    def status(self, name: str) -> tuple[ProjectStatus, str]:
        """A project's PEP 792 status and reason; NotFound when there is no project."""
        with self.db.read_session() as session:
            project = require_project(session, name)
            return project.status, project.status_reason

    def offers_files(self, name: NormalizedName) -> bool:
        """Whether the project's files may be downloaded (not quarantined); cached briefly,
        as it is asked on every download. An unknown project offers nothing to refuse."""
        now = time.monotonic()
        cached = self._statuses.get(name)
        if cached is None or now - cached[0] > self.STATUS_CACHE_SECONDS:
            with self.db.read_session() as session:
                project = find_project(session, name)
            cached = (now, project.status if project is not None else ProjectStatus.ACTIVE)
            self._statuses[name] = cached
        return cached[1].offers_files

    def set_status(
        self, name: str, status: ProjectStatus, reason: str, *, by_owner: int | None
    ) -> ProjectStatus:
        """Change a project's status marker and queue its listings to be signed again.

        ``by_owner`` is the user id of an owner acting through the developer API;
        None is an administrator (``endorse admin project status``). Owners may
        move their project between active, archived and deprecated; quarantine,
        and lifting it, are for administrators (PEP 792 leaves who may do what to
        the index). Returns the status before.
        """
        if len(reason) > MAX_STATUS_REASON:
            raise InvalidRequest(f"a status reason is at most {MAX_STATUS_REASON} characters")
        with self.db.session() as session:
            project = require_project(session, name)
            before = project.status
            if by_owner is not None:
                membership = queries.membership(session, project.id, by_owner)
                if membership is None or membership.role != ProjectRole.OWNER:
                    raise PermissionDenied(
                        f"only an owner of {project.name!r} may change its status"
                    )
                if ProjectStatus.QUARANTINED in (before, status):
                    raise PermissionDenied(
                        f"{project.name!r} is {before}: only an administrator "
                        + (
                            "quarantines a project"
                            if status is ProjectStatus.QUARANTINED
                            else "lifts a quarantine"
                        ),
                        hint="write to the index's administrators",
                    )
            project.status, project.status_reason = status, reason
            session.add(QueueEntry(project_id=project.id))
        self._statuses.pop(NormalizedName(project.name), None)
        logger.info("project %s: status %s -> %s (%s)", project.name, before, status, reason)
        return before

    def files(self, name: str) -> ProjectFiles:
        """A project's live files, newest version first; NotFound when there is no project."""
        with self.db.read_session() as session:
            project = require_project(session, name)
            files = queries.live_files(session, project.id)
        ordered = sorted(files, key=lambda f: (Version(f.version), f.filename), reverse=True)
        return ProjectFiles(NormalizedName(project.name), [ProjectFile.of(f) for f in ordered])
