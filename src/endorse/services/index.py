"""The collaborators every face of the index opens from one ``Settings``."""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

from endorse.errors import ConfigError
from endorse.index.accounts import Accounts
from endorse.publisher.bootstrap import ONLINE_KEYRING
from endorse.publisher.keyring import Keyring
from endorse.settings import Settings
from endorse.storage import BlobStore, open_blob_store
from endorse.storage.db import Database
from endorse.storage.published import PublishedMetadata

logger = logging.getLogger(__name__)


class InsecureIndexWarning(UserWarning):
    """The index runs without TUF metadata: nothing it serves can be verified."""


@dataclass
class Services:
    """Database, blob store, accounts and the published-metadata reader."""

    settings: Settings
    db: Database
    store: BlobStore
    accounts: Accounts
    published: PublishedMetadata

    @classmethod
    def open(cls, settings: Settings) -> Services:
        """Open (and create when missing) the database and the blob store."""
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        db = Database(settings.resolved_database_url)
        db.create_schema()
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
        return cls(settings, db, store, Accounts(db, settings), PublishedMetadata(store))

    @property
    def upload_tmp(self) -> Path:
        """Where uploads are spooled before they are checked."""
        path = self.settings.data_dir / "tmp"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def online_keyring(self) -> Keyring:
        """The online keys the publisher signs with."""
        path = self.settings.keys_dir / ONLINE_KEYRING
        if not path.exists():
            raise ConfigError(
                f"no online keyring at {str(path)!r}",
                hint="start `endorse serve` once on a fresh data folder, "
                "or run `endorse admin init`",
            )
        return Keyring.load(path)

    def close(self) -> None:
        """Release database connections."""
        self.db.dispose()
