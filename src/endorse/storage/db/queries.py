"""Every query of the index's database, named for what it asks.

The index and the publisher read and change their records only through these
functions (and the models' attributes), so SQL lives in this package alone
and each question is asked in one place. Every function takes the caller's
session: the caller decides what is one transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime

from packaging.utils import NormalizedName
from securesystemslib.signer import Key
from sqlalchemy import delete, distinct, func, select, update
from sqlalchemy.orm import Session

from endorse.metadata.trust import TrustLevel
from endorse.states import ClaimState, EventState, ProjectRole, ProjectStatus, ReleaseState
from endorse.storage.db.models import (
    ApiToken,
    ClaimMaintainer,
    DeveloperKey,
    File,
    FileRegistry,
    PendingRelease,
    Project,
    ProjectClaim,
    ProjectMember,
    ProjectRoleVersion,
    PublishedListing,
    QueueEntry,
    RoleState,
    SigningEvent,
    SupersededTarget,
    User,
)

# -- accounts ---------------------------------------------------------------------------


def user_by_name(session: Session, username: str) -> User | None:
    """The user of that name, or None."""
    return session.scalar(select(User).where(User.username == username))


def user_by_id(session: Session, user_id: int) -> User:
    """The user of an id a foreign key guarantees."""
    user = session.get(User, user_id)
    assert user is not None  # noqa: S101 - callers hold an id from a foreign key
    return user


def usernames(session: Session) -> list[str]:
    """Every username, sorted."""
    return list(session.scalars(select(User.username).order_by(User.username)))


def token_by_hash(session: Session, digest: str) -> ApiToken | None:
    """The token whose SHA-256 is ``digest``."""
    return session.scalar(select(ApiToken).where(ApiToken.token_hash == digest))


def active_tokens(session: Session, user_id: int) -> list[ApiToken]:
    """A user's tokens that are not revoked."""
    return list(
        session.scalars(
            select(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked.is_(None))
        )
    )


def membership(session: Session, project_id: int, user_id: int) -> ProjectMember | None:
    """A user's membership of a project, or None."""
    return session.scalar(
        select(ProjectMember).where(
            ProjectMember.project_id == project_id, ProjectMember.user_id == user_id
        )
    )


def members(session: Session, name: NormalizedName) -> list[tuple[str, ProjectRole]]:
    """``(username, role)`` of every member of a project, by username."""
    rows = session.execute(
        select(User.username, ProjectMember.role)
        .join(ProjectMember, ProjectMember.user_id == User.id)
        .join(Project, Project.id == ProjectMember.project_id)
        .where(Project.name == name)
        .order_by(User.username)
    ).all()
    return [(username, role) for username, role in rows]


# -- projects and files -----------------------------------------------------------------


def project_by_name(session: Session, name: NormalizedName) -> Project | None:
    """The project of a normalised name, or None."""
    return session.scalar(select(Project).where(Project.name == name))


def project_names(session: Session, project_ids: Collection[int]) -> dict[int, NormalizedName]:
    """Project id -> name."""
    rows = session.execute(select(Project.id, Project.name).where(Project.id.in_(project_ids)))
    return {pid: NormalizedName(name) for pid, name in rows}


def project_statuses(
    session: Session, project_ids: Collection[int]
) -> dict[int, tuple[ProjectStatus, str]]:
    """Project id -> its PEP 792 status and reason."""
    rows = session.execute(
        select(Project.id, Project.status, Project.status_reason).where(Project.id.in_(project_ids))
    )
    return {pid: (ProjectStatus(status), reason) for pid, status, reason in rows}


def project_with_confusable_key(
    session: Session, key: str, *, other_than: NormalizedName
) -> str | None:
    """The name of another project whose confusable key is ``key``, if any."""
    return session.scalar(
        select(Project.name).where(Project.confusable_key == key, Project.name != other_than)
    )


def project_files(session: Session, project_id: int) -> list[File]:
    """Every file of a project, removed ones included."""
    return list(session.scalars(select(File).where(File.project_id == project_id)))


def live_files(session: Session, project_id: int) -> list[File]:
    """A project's files that are not removed."""
    return list(
        session.scalars(select(File).where(File.project_id == project_id, File.removed.is_(False)))
    )


def live_file(session: Session, name: NormalizedName, filename: str) -> File | None:
    """A file of a project by filename, unless it was removed."""
    return session.scalar(
        select(File)
        .join(Project, Project.id == File.project_id)
        .where(File.filename == filename, Project.name == name, File.removed.is_(False))
    )


def files_by_project(session: Session, project_ids: Collection[int]) -> dict[int, list[File]]:
    """Every file of each project, removed ones included."""
    result: dict[int, list[File]] = defaultdict(list)
    for f in session.scalars(select(File).where(File.project_id.in_(project_ids))):
        result[f.project_id].append(f)
    return result


def filename_registered(session: Session, filename: str) -> bool:
    """Whether a filename was ever accepted (removed files included)."""
    return session.get(FileRegistry, filename) is not None


def registered_filenames(session: Session, filenames: Sequence[str]) -> set[str]:
    """Which of ``filenames`` were ever accepted, in one query."""
    known = select(FileRegistry.filename).where(FileRegistry.filename.in_(filenames))
    return set(session.scalars(known))


def is_file_published(session: Session, file_id: int) -> bool:
    """Whether metadata covering a file has been published."""
    return session.scalar(select(File.published).where(File.id == file_id)) is not None


def mark_files_published(
    session: Session, project_id: int, filenames: Collection[str], when: datetime
) -> int:
    """Record the first publication of those files of a project; return how many."""
    result = session.execute(
        update(File)
        .where(
            File.project_id == project_id,
            File.published.is_(None),
            File.removed.is_(False),
            File.filename.in_(sorted(filenames)),
        )
        .values(published=when)
    )
    count: int = result.rowcount  # type: ignore[attr-defined]  # an UPDATE's CursorResult
    return count


# -- developer keys and claims ----------------------------------------------------------


def developer_key(session: Session, keyid: str) -> DeveloperKey | None:
    """The registered developer key with that id (revoked or not)."""
    return session.scalar(select(DeveloperKey).where(DeveloperKey.keyid == keyid))


def active_keys(session: Session, user_id: int) -> list[Key]:
    """A user's registered, unrevoked developer keys."""
    rows = session.scalars(
        select(DeveloperKey).where(DeveloperKey.user_id == user_id, DeveloperKey.revoked.is_(None))
    )
    return [row.public_key() for row in rows]


def has_had_keys(session: Session, user_id: int) -> bool:
    """Whether a user ever registered a developer key."""
    row = session.scalar(select(DeveloperKey.id).where(DeveloperKey.user_id == user_id).limit(1))
    return row is not None


def claim_of(session: Session, project_id: int) -> ProjectClaim | None:
    """A project's claim, or None when it is index-signed."""
    return session.get(ProjectClaim, project_id)


def claims(
    session: Session, names: Iterable[str] | None = None
) -> list[tuple[ProjectClaim, NormalizedName]]:
    """Every claim (or the claims of the projects ``names``), with its project's name."""
    query = select(ProjectClaim, Project.name).join(Project, Project.id == ProjectClaim.project_id)
    if names is not None:
        query = query.where(Project.name.in_(sorted(names)))
    return [(claim, NormalizedName(name)) for claim, name in session.execute(query)]


def claims_by_project(session: Session, project_ids: Collection[int]) -> dict[int, ProjectClaim]:
    """The claims of those projects that have one."""
    rows = session.scalars(select(ProjectClaim).where(ProjectClaim.project_id.in_(project_ids)))
    return {claim.project_id: claim for claim in rows}


def claims_maintained_by(
    session: Session, user_id: int
) -> list[tuple[ProjectClaim, NormalizedName]]:
    """The claims a user is a maintainer of, with their projects' names."""
    rows = session.execute(
        select(ProjectClaim, Project.name)
        .join(ClaimMaintainer, ClaimMaintainer.project_id == ProjectClaim.project_id)
        .join(Project, Project.id == ProjectClaim.project_id)
        .where(ClaimMaintainer.user_id == user_id)
    )
    return [(claim, NormalizedName(name)) for claim, name in rows]


def maintains_claim(session: Session, project_id: int, user_id: int) -> bool:
    """Whether a user is one of a claim's maintainers."""
    row = session.scalar(
        select(ClaimMaintainer.id).where(
            ClaimMaintainer.project_id == project_id, ClaimMaintainer.user_id == user_id
        )
    )
    return row is not None


def claim_keys(session: Session, project_id: int) -> dict[str, list[Key]]:
    """``maintainer -> active keys`` of a claimed project, by maintainer name."""
    rows = session.execute(
        select(User.id, User.username)
        .join(ClaimMaintainer, ClaimMaintainer.user_id == User.id)
        .where(ClaimMaintainer.project_id == project_id)
        .order_by(User.username)
    ).all()
    return {username: active_keys(session, user_id) for user_id, username in rows}


def void_unprotected_claims(session: Session) -> list[NormalizedName]:
    """Delete every claim not under the offline ``claimed`` role, with its role versions,
    pending releases and maintainers; its files go back to trust level 1 and the
    project is queued. Returns the projects, by name."""
    rows = session.execute(
        select(ProjectClaim.project_id, Project.name)
        .join(Project, Project.id == ProjectClaim.project_id)
        .where(ProjectClaim.state != ClaimState.CLAIMED)
    ).all()
    ids = [pid for pid, _ in rows]
    if ids:
        session.execute(delete(PendingRelease).where(PendingRelease.project_id.in_(ids)))
        session.execute(delete(ProjectRoleVersion).where(ProjectRoleVersion.project_id.in_(ids)))
        session.execute(delete(ClaimMaintainer).where(ClaimMaintainer.project_id.in_(ids)))
        session.execute(delete(ProjectClaim).where(ProjectClaim.project_id.in_(ids)))
        session.execute(
            update(File)
            .where(File.project_id.in_(ids))
            .values(trust_level=int(TrustLevel.INDEX_SIGNED))
        )
        session.add_all(QueueEntry(project_id=pid) for pid in ids)
    return sorted(NormalizedName(name) for _, name in rows)


# -- developer-signed role versions and pending releases --------------------------------


def newest_role_version(session: Session, project_id: int) -> ProjectRoleVersion | None:
    """The newest accepted developer-signed version of a project's role."""
    return session.scalar(
        select(ProjectRoleVersion)
        .where(ProjectRoleVersion.project_id == project_id)
        .order_by(ProjectRoleVersion.version.desc())
        .limit(1)
    )


def newest_role_version_of(session: Session, name: NormalizedName) -> ProjectRoleVersion | None:
    """The newest accepted role version of a project, by its name."""
    project = project_by_name(session, name)
    return newest_role_version(session, project.id) if project is not None else None


def role_version(session: Session, project_id: int, version: int) -> ProjectRoleVersion | None:
    """One accepted version of a project's role."""
    return session.scalar(
        select(ProjectRoleVersion).where(
            ProjectRoleVersion.project_id == project_id, ProjectRoleVersion.version == version
        )
    )


def role_versions_by_project(
    session: Session, project_ids: Collection[int]
) -> dict[int, list[ProjectRoleVersion]]:
    """Every accepted role version of each project, oldest first."""
    result: dict[int, list[ProjectRoleVersion]] = defaultdict(list)
    for v in session.scalars(
        select(ProjectRoleVersion)
        .where(ProjectRoleVersion.project_id.in_(project_ids))
        .order_by(ProjectRoleVersion.version)
    ):
        result[v.project_id].append(v)
    return result


def has_published_role_version(session: Session, name: NormalizedName) -> bool:
    """Whether a developer-signed version of a project's role has been published."""
    row = session.scalar(
        select(ProjectRoleVersion.id)
        .join(Project, Project.id == ProjectRoleVersion.project_id)
        .where(Project.name == name, ProjectRoleVersion.published.is_not(None))
        .limit(1)
    )
    return row is not None


def mark_role_versions_published(session: Session, row_ids: Iterable[int], when: datetime) -> None:
    """Record that those role versions are published."""
    ids = list(row_ids)
    if ids:
        session.execute(
            update(ProjectRoleVersion).where(ProjectRoleVersion.id.in_(ids)).values(published=when)
        )


def pending_release(session: Session, pending_id: int) -> PendingRelease | None:
    """A release waiting for co-signatures (or one that was accepted since)."""
    return session.get(PendingRelease, pending_id)


def pending_release_ids(session: Session, project_id: int) -> list[int]:
    """A project's releases that still wait for co-signatures."""
    return list(
        session.scalars(
            select(PendingRelease.id).where(
                PendingRelease.project_id == project_id,
                PendingRelease.state == ReleaseState.PENDING,
            )
        )
    )


# -- signing events ---------------------------------------------------------------------


def signing_event(session: Session, event_id: int) -> SigningEvent | None:
    """A signing event by id."""
    return session.get(SigningEvent, event_id)


def unpublished_event_ids(session: Session) -> list[int]:
    """Signing events that are open or ready, oldest first."""
    return list(
        session.scalars(
            select(SigningEvent.id)
            .where(SigningEvent.state.in_([EventState.OPEN, EventState.READY]))
            .order_by(SigningEvent.id)
        )
    )


def ready_events(session: Session) -> list[SigningEvent]:
    """Fully signed events the publisher publishes next, oldest first."""
    return list(
        session.scalars(
            select(SigningEvent)
            .where(SigningEvent.state == EventState.READY)
            .order_by(SigningEvent.id)
        )
    )


def mark_events_published(session: Session, event_ids: Iterable[int], when: datetime) -> None:
    """Record that the publisher published those events."""
    ids = list(event_ids)
    if ids:
        session.execute(
            update(SigningEvent)
            .where(SigningEvent.id.in_(ids))
            .values(state=EventState.PUBLISHED, published=when)
        )


# -- the publish queue and what batches published ---------------------------------------


def pending_entries(session: Session, limit: int) -> list[tuple[int, int]]:
    """``(entry id, project id)`` of the oldest queue entries no batch has published."""
    rows = session.execute(
        select(QueueEntry.id, QueueEntry.project_id)
        .where(QueueEntry.batch_id.is_(None))
        .order_by(QueueEntry.id)
        .limit(limit)
    )
    return [(entry_id, project_id) for entry_id, project_id in rows]


def pending_entry_count(session: Session) -> int:
    """Queue entries no batch has published."""
    count = session.scalar(
        select(func.count()).select_from(QueueEntry).where(QueueEntry.batch_id.is_(None))
    )
    return int(count or 0)


def pending_project_count(session: Session) -> int:
    """Projects with queue entries no batch has published."""
    count = session.scalar(
        select(func.count(distinct(QueueEntry.project_id))).where(QueueEntry.batch_id.is_(None))
    )
    return int(count or 0)


def mark_entries_done(session: Session, entry_ids: Collection[int], batch_id: int) -> None:
    """Record the batch that published those queue entries."""
    if entry_ids:
        session.execute(
            update(QueueEntry).where(QueueEntry.id.in_(entry_ids)).values(batch_id=batch_id)
        )


def queue_projects_not_claimed(session: Session) -> int:
    """Queue every project that is not under the offline ``claimed`` role; return how many."""
    claimed = select(ProjectClaim.project_id).where(ProjectClaim.state == ClaimState.CLAIMED)
    ids = list(session.scalars(select(Project.id).where(Project.id.not_in(claimed))))
    session.add_all(QueueEntry(project_id=pid) for pid in ids)
    return len(ids)


def published_listing(session: Session, name: NormalizedName) -> PublishedListing | None:
    """The listing the publisher last built for a project."""
    return session.scalar(
        select(PublishedListing)
        .join(Project, Project.id == PublishedListing.project_id)
        .where(Project.name == name)
    )


def replace_published_listing(
    session: Session, project_id: int, html_key: str, json_key: str
) -> list[str]:
    """Record a project's newest listing; return the storage keys it supersedes."""
    listed = session.get(PublishedListing, project_id)
    if listed is None:
        session.add(PublishedListing(project_id=project_id, html_key=html_key, json_key=json_key))
        return []
    superseded = [k for k in (listed.html_key, listed.json_key) if k not in (html_key, json_key)]
    listed.html_key, listed.json_key = html_key, json_key
    return superseded


def published_project_names(session: Session) -> list[str]:
    """Every project with a published listing, by name."""
    return list(
        session.scalars(
            select(Project.name)
            .join(PublishedListing, PublishedListing.project_id == Project.id)
            .order_by(Project.name)
        )
    )


def record_superseded(session: Session, key: str, target_path: str, since: datetime) -> None:
    """Record stored bytes the newest metadata no longer names (pruned after a grace)."""
    if session.get(SupersededTarget, key) is None:
        session.add(SupersededTarget(key=key, target_path=target_path, since=since))


def superseded_before(session: Session, cutoff: datetime) -> list[SupersededTarget]:
    """Superseded stored bytes recorded before ``cutoff``."""
    return list(session.scalars(select(SupersededTarget).where(SupersededTarget.since < cutoff)))


# -- online roles: version, expiry, refresh ---------------------------------------------


def role_state_seeded(session: Session) -> bool:
    """Whether the online roles' versions and expiries have been recorded."""
    return session.scalar(select(RoleState.name).limit(1)) is not None


def due_roles(session: Session, now: datetime, limit: int) -> list[str]:
    """Online roles due for re-signing, the most urgent first."""
    return list(
        session.scalars(
            select(RoleState.name)
            .where(RoleState.refresh_after <= now)
            .order_by(RoleState.refresh_after)
            .limit(limit)
        )
    )


def set_role_state(
    session: Session, role: str, version: int, expires: datetime, refresh_after: datetime
) -> None:
    """Record an online role's version, expiry and when to re-sign it."""
    state = session.get(RoleState, role)
    if state is None:
        session.add(
            RoleState(name=role, version=version, expires=expires, refresh_after=refresh_after)
        )
    else:
        state.version = version
        state.expires = expires
        state.refresh_after = refresh_after


def soonest_expiries(session: Session, limit: int) -> list[tuple[str, datetime]]:
    """``(role, expiry)`` of the online roles that expire first."""
    rows = session.execute(
        select(RoleState.name, RoleState.expires).order_by(RoleState.expires).limit(limit)
    )
    return [(name, expires) for name, expires in rows]


def forget_role_state(session: Session) -> None:
    """Drop every online role's record (after recovery re-signed them all)."""
    session.execute(delete(RoleState))
