"""The closed sets of states the index records, each a ``StrEnum``.

They are stored, sent over the developer API and shown to people as their
values (``"recently-claimed"``), so a value never changes once released; the
database refuses any other value (``storage/db/migrations``, revision 0002).
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "AuthMethod",
    "ClaimState",
    "EventState",
    "ProjectRole",
    "ProjectStatus",
    "ReleaseState",
]


class ClaimState(StrEnum):
    """Where a claimed project (PEP 480) stands."""

    #: Claimed by an owner; no release signed by the threshold of maintainers yet.
    PENDING = "pending"
    #: A signed release was accepted: delegated under ``recently-claimed`` (online key).
    RECENTLY_CLAIMED = "recently-claimed"
    #: Moved under the offline ``claimed`` role by a signing event.
    CLAIMED = "claimed"


class ReleaseState(StrEnum):
    """A signed release of a claimed project."""

    #: Signed by fewer maintainers than the threshold: waits for co-signatures.
    PENDING = "pending"
    #: Signed by enough maintainers: recorded and queued for the publisher.
    ACCEPTED = "accepted"


class EventState(StrEnum):
    """An offline signing event."""

    #: Prepared; administrators are signing it.
    OPEN = "open"
    #: Signed by a threshold of its keys: the publisher publishes it next.
    READY = "ready"
    #: Published by the publisher.
    PUBLISHED = "published"


class ProjectRole(StrEnum):
    """A member's role in a project."""

    #: May upload, add members and claim the project.
    OWNER = "owner"
    #: May upload.
    MAINTAINER = "maintainer"


class ProjectStatus(StrEnum):
    """A project's status marker (PEP 792), in the listing installers read."""

    #: The default: uploads accepted, files offered.
    ACTIVE = "active"
    #: No further uploads expected: uploads refused, files still offered.
    ARCHIVED = "archived"
    #: Considered unsafe (malware): uploads refused, no file offered. Administrators only.
    QUARANTINED = "quarantined"
    #: Obsolete, perhaps replaced: as active; installers may warn.
    DEPRECATED = "deprecated"

    @property
    def accepts_uploads(self) -> bool:
        """Whether the index takes new files for a project in this status."""
        return self in (ProjectStatus.ACTIVE, ProjectStatus.DEPRECATED)

    @property
    def offers_files(self) -> bool:
        """Whether the index offers the project's files for download."""
        return self is not ProjectStatus.QUARANTINED


class AuthMethod(StrEnum):
    """How an identity was established."""

    PASSWORD = "password"  # noqa: S105 - a method's name, not a secret
    TOKEN = "token"  # noqa: S105 - a method's name, not a secret
    #: An administrator acting on the index's database directly (``endorse admin``).
    ADMIN = "admin"
