"""The relational state: accounts, projects, files, the publish queue (SQLAlchemy models).

SQLite (the embedded default) and PostgreSQL (for several API processes) share
these models. TUF metadata itself lives in the blob store; the database only
records what the publisher still has to do and what it did.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from securesystemslib.signer import Key
from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    MetaData,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from endorse.states import ClaimState, EventState, ProjectRole, ProjectStatus, ReleaseState


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every engine (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    """The current time as stored in the database."""
    return datetime.now(UTC)


def state_column(enum: type[StrEnum], name: str) -> Enum:
    """A column of one of :mod:`endorse.states`: its values as text, checked by the database."""
    return Enum(
        enum,
        name=name,
        native_enum=False,
        length=20,
        create_constraint=True,
        validate_strings=True,
        values_callable=lambda members: [m.value for m in members],
    )


class Base(DeclarativeBase):
    """Base of every model."""

    # SQLAlchemy's own index names, and names for the check constraints of
    # revision 0002; unique and foreign keys keep the engines' own names, as
    # the first schema (before migrations) had them.
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
        }
    )


class User(Base):
    """An account that can upload."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiToken(Base):
    """An upload token; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(String(255), default="")
    #: Normalised project names the token may upload to; None means any of the user's.
    projects: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Project(Base):
    """A project, by its PEP 503 normalised name."""

    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    #: The name folded further (PyPI's "ultranormalised" form) to catch confusables.
    confusable_key: Mapped[str] = mapped_column(String(200), index=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: PEP 792 status marker, and the reason shown with it.
    status: Mapped[ProjectStatus] = mapped_column(
        state_column(ProjectStatus, "status"), default=ProjectStatus.ACTIVE
    )
    status_reason: Mapped[str] = mapped_column(String(500), default="")


class ProjectMember(Base):
    """Who may upload to a project, as an owner (may add members) or a maintainer."""

    __tablename__ = "project_members"
    __table_args__ = (UniqueConstraint("project_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    role: Mapped[ProjectRole] = mapped_column(state_column(ProjectRole, "role"))


class File(Base):
    """One distribution file of a release."""

    __tablename__ = "files"
    __table_args__ = (Index("ix_files_project_removed", "project_id", "removed"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    version: Mapped[str] = mapped_column(String(100))
    filename: Mapped[str] = mapped_column(String(255), unique=True)
    packagetype: Mapped[str] = mapped_column(String(20))
    python_version: Mapped[str] = mapped_column(String(50), default="")
    requires_python: Mapped[str | None] = mapped_column(String(255), nullable=True)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    blake2_256: Mapped[str] = mapped_column(String(64))
    #: SHA-256 and size of the extracted core metadata (wheels, PEP 658).
    core_metadata_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    core_metadata_size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    uploaded: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    uploader_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    trust_level: Mapped[int] = mapped_column(default=1)
    yanked: Mapped[bool] = mapped_column(default=False)
    yanked_reason: Mapped[str] = mapped_column(String(255), default="")
    removed: Mapped[bool] = mapped_column(default=False)
    #: When metadata covering the file was first published (None: not yet).
    published: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class FileRegistry(Base):
    """Every filename ever accepted; a filename is never accepted twice."""

    __tablename__ = "file_registry"

    filename: Mapped[str] = mapped_column(String(255), primary_key=True)


class QueueEntry(Base):
    """A project whose listing and targets must be (re)published."""

    __tablename__ = "publish_queue"
    __table_args__ = (Index("ix_publish_queue_pending", "batch_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    enqueued: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Set when the batch that published it is done.
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batches.id"), nullable=True)


class Batch(Base):
    """One run of the publisher that produced a new timestamp."""

    __tablename__ = "batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    started: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    timestamp_version: Mapped[int | None] = mapped_column(nullable=True)
    snapshot_version: Mapped[int | None] = mapped_column(nullable=True)
    projects: Mapped[int] = mapped_column(default=0)


class PublishedListing(Base):
    """The listing targets published last for a project (used without TUF, and for pages)."""

    __tablename__ = "published_listings"

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), primary_key=True)
    html_key: Mapped[str] = mapped_column(String(400))
    json_key: Mapped[str] = mapped_column(String(400))


class RoleState(Base):
    """Version and expiry of each online-signed role, so refresh needs no metadata scan."""

    __tablename__ = "role_state"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    version: Mapped[int]
    expires: Mapped[datetime] = mapped_column(UTCDateTime)
    #: When the publisher re-signs it (half its lifetime before expiry).
    refresh_after: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class SupersededTarget(Base):
    """A stored listing or file no longer in the newest metadata; pruned after a grace time."""

    __tablename__ = "superseded_targets"

    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    target_path: Mapped[str] = mapped_column(String(400))
    since: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DeveloperKey(Base):
    """A maintainer's public key on one machine (PEP 480). Never a private key."""

    __tablename__ = "developer_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    keyid: Mapped[str] = mapped_column(String(64), unique=True)
    #: The securesystemslib public key dict (keytype, scheme, keyval).
    key: Mapped[dict[str, object]] = mapped_column(JSON)
    label: Mapped[str] = mapped_column(String(100), default="")
    #: Key id of the already registered key that signed this one in (None: first key).
    added_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    added: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    def public_key(self) -> Key:
        """The key as securesystemslib reads it."""
        return Key.from_dict(self.keyid, dict(self.key))


class ProjectClaim(Base):
    """A project whose files its developers sign (PEP 480)."""

    __tablename__ = "project_claims"

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), primary_key=True)
    #: ``recently-claimed`` until a signing event moves it into ``claimed``.
    state: Mapped[ClaimState] = mapped_column(state_column(ClaimState, "state"))
    #: Distinct maintainers whose signatures a release needs.
    threshold: Mapped[int]
    claimed_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Set when the delegation (keys, threshold) changed and must be re-published.
    delegation_dirty: Mapped[bool] = mapped_column(default=True)


class ClaimMaintainer(Base):
    """A maintainer whose developer keys sign a claimed project."""

    __tablename__ = "claim_maintainers"
    __table_args__ = (UniqueConstraint("project_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))


class ProjectRoleVersion(Base):
    """A developer-signed version of a project role, accepted by the index."""

    __tablename__ = "project_role_versions"
    __table_args__ = (UniqueConstraint("project_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    version: Mapped[int]
    #: Storage key of the signed metadata bytes as the developers sent them.
    blob_key: Mapped[str] = mapped_column(String(400))
    accepted: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class PendingRelease(Base):
    """A signed release waiting for more maintainers' signatures (threshold > 1)."""

    __tablename__ = "pending_releases"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    version: Mapped[int]
    #: Storage key of the metadata with the signatures collected so far.
    blob_key: Mapped[str] = mapped_column(String(400))
    #: Distributions already checked and stored: [{"filename", "sha256", ...}].
    files: Mapped[list[dict[str, object]]] = mapped_column(JSON)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    state: Mapped[ReleaseState] = mapped_column(
        state_column(ReleaseState, "state"), default=ReleaseState.PENDING
    )


class SigningEvent(Base):
    """An offline signing event: the next version of an offline role, and its signatures."""

    __tablename__ = "signing_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    role: Mapped[str] = mapped_column(String(50))
    version: Mapped[int]
    #: Storage key of the prepared metadata with the signatures collected so far.
    blob_key: Mapped[str] = mapped_column(String(400))
    #: What the event changes, for people: {"added": [...], "removed": [...], ...}.
    summary: Mapped[dict[str, object]] = mapped_column(JSON)
    state: Mapped[EventState] = mapped_column(
        state_column(EventState, "state"), default=EventState.OPEN
    )
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
