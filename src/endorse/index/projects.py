"""Projects: the one place a project is looked up by name or created."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from endorse.errors import NotFound, UploadRejected
from endorse.metadata.trust import TrustLevel
from endorse.packages.names import confusable_key
from endorse.states import ProjectRole
from endorse.storage.db import Database, File, Project, ProjectMember, Session, queries

logger = logging.getLogger(__name__)

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
    """Read-only views of projects for pages and the developer API."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def files(self, name: str) -> ProjectFiles:
        """A project's live files, newest version first; NotFound when there is no project."""
        with self.db.read_session() as session:
            project = require_project(session, name)
            files = queries.live_files(session, project.id)
        ordered = sorted(files, key=lambda f: (Version(f.version), f.filename), reverse=True)
        return ProjectFiles(NormalizedName(project.name), [ProjectFile.of(f) for f in ordered])
