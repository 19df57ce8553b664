"""How the index stands: the newest timestamp, the publish queue, the next expiries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from endorse.storage.db import Database, queries
from endorse.storage.published import PublishedMetadata

__all__ = ["IndexStatus", "index_status"]

#: How many of the soonest expiries a status shows.
NEXT_EXPIRIES = 5


@dataclass(frozen=True)
class IndexStatus:
    """What ``endorse admin status`` shows."""

    #: Projects with queue entries no batch has published yet.
    pending_projects: int
    timestamp_version: int | None = None
    timestamp_expires: datetime | None = None
    #: The soonest expiries among the online roles, by role name.
    next_expiries: dict[str, datetime] = field(default_factory=dict)


def index_status(db: Database, published: PublishedMetadata, *, tuf_enabled: bool) -> IndexStatus:
    """The index's status now."""
    version = expires = None
    if tuf_enabled and published.is_initialised():
        timestamp = published.timestamp().signed
        version, expires = timestamp.version, timestamp.expires
    with db.read_session() as session:
        pending = queries.pending_project_count(session)
        soonest = queries.soonest_expiries(session, NEXT_EXPIRIES)
    return IndexStatus(pending, version, expires, dict(soonest))
