"""The index's services: what a request handler or an admin command calls. Never signs.

``Services.open(settings)`` opens the database (refusing a schema older than
this endorse, see :mod:`endorse.storage.db.schema`) and the blob store, and
builds the domain objects of :mod:`endorse.index` over them, each once.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

from endorse.clock import Clock, SystemClock
from endorse.errors import ConfigError
from endorse.index.accounts import Accounts
from endorse.index.claims import Claims
from endorse.index.events import SigningEvents
from endorse.index.listings import Listings
from endorse.index.project_json import ProjectJson
from endorse.index.projects import Projects
from endorse.index.releases import Releases
from endorse.index.status import IndexStatus, index_status
from endorse.index.uploads import Uploads
from endorse.settings import Settings
from endorse.storage import BlobStore, open_blob_store
from endorse.storage.db import Database
from endorse.storage.db.schema import Migration, migrate, prepare
from endorse.storage.published import PublishedMetadata

logger = logging.getLogger(__name__)

__all__ = ["InsecureIndexWarning", "Services", "migrate_database"]


class InsecureIndexWarning(UserWarning):
    """The index runs without TUF metadata: nothing it serves can be verified."""


@dataclass
class Services:
    """The database, the blob store and the index's domain objects over them."""

    settings: Settings
    db: Database
    store: BlobStore
    clock: Clock
    accounts: Accounts
    projects: Projects
    uploads: Uploads
    claims: Claims
    releases: Releases
    events: SigningEvents
    listings: Listings
    published: PublishedMetadata
    project_json: ProjectJson

    @classmethod
    def open(
        cls, settings: Settings, *, store: BlobStore | None = None, clock: Clock | None = None
    ) -> Services:
        """Open the database (created when empty, refused when older) and the blob store."""
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        db = Database(settings.resolved_database_url)
        try:
            prepare(db)
        except BaseException:
            db.dispose()
            raise
        if store is None:
            store = open_blob_store(
                settings.resolved_storage_url, s3_endpoint_url=settings.s3_endpoint_url
            )
        if not settings.tuf_enabled:
            warnings.warn(
                "TUF signing is OFF: this index publishes no metadata and nothing it "
                "serves can be verified. Use it only as a benchmark baseline.",
                InsecureIndexWarning,
                stacklevel=2,
            )
        return cls.assemble(settings, db, store, clock or SystemClock())

    @classmethod
    def open_existing(cls, settings: Settings) -> Services:
        """:meth:`open` for a command that needs an index already there: it refuses an
        empty data folder before creating anything in it."""
        url = settings.resolved_database_url
        database = Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None
        if database is not None and str(database) != ":memory:" and not database.exists():
            raise ConfigError(
                f"no index in {settings.data_dir}: its database {database} does not exist",
                hint="start the index once (`endorse serve`, or `endorse admin init`), or "
                "pass the data folder of an existing index (--data-dir, ENDORSE_DATA_DIR)",
            )
        return cls.open(settings)

    @classmethod
    def assemble(cls, settings: Settings, db: Database, store: BlobStore, clock: Clock) -> Services:
        """The services over a database and store as they are (no schema check)."""
        uploads = Uploads(db, store)
        published = PublishedMetadata(store)
        listings = Listings(db, published, tuf_enabled=settings.tuf_enabled)
        return cls(
            settings=settings,
            db=db,
            store=store,
            clock=clock,
            accounts=Accounts(db, settings),
            projects=Projects(db),
            uploads=uploads,
            claims=Claims(db),
            releases=Releases(db, store, uploads, clock),
            events=SigningEvents(settings, db, store, clock),
            listings=listings,
            published=published,
            project_json=ProjectJson(db, store, listings, published),
        )

    @property
    def upload_tmp(self) -> Path:
        """Where uploads are spooled before they are checked."""
        path = self.settings.data_dir / "tmp"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def status(self) -> IndexStatus:
        """The newest timestamp, the publish queue and the next expiries."""
        return index_status(self.db, self.published, tuf_enabled=self.settings.tuf_enabled)

    def close(self) -> None:
        """Release database connections."""
        self.db.dispose()


def migrate_database(settings: Settings) -> Migration:
    """Upgrade the index's database to this endorse's schema (``endorse admin migrate``)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.resolved_database_url)
    try:
        return migrate(db)
    finally:
        db.dispose()
