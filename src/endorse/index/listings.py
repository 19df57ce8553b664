"""Which stored bytes answer a Simple API or a ``/tuf/targets/`` request.

A project page is served as the exact bytes of its listing target in the
newest published metadata (DESIGN rule 4), so what pip is shown is what TUF
signs, and it appears only once that metadata is published. A claimed
project's listing is the one the publisher last built from its
developer-signed role alone; a target's plain name (what listings link to)
resolves to the bytes of the file the database records.
"""

from __future__ import annotations

from packaging.utils import NormalizedName

from endorse.errors import NotFound
from endorse.metadata.paths import LISTING_FORMATS, ListingFormat, listing_target, project_dir
from endorse.metadata.storage_keys import target_key
from endorse.storage.db import Database, queries
from endorse.storage.published import PublishedMetadata

__all__ = ["Listings"]


class Listings:
    """Storage keys of the listings and targets the web face serves."""

    def __init__(self, db: Database, published: PublishedMetadata, *, tuf_enabled: bool) -> None:
        self.db = db
        self.published = published
        self.tuf_enabled = tuf_enabled

    def listing_key(self, name: NormalizedName, fmt: ListingFormat) -> str:
        """Storage key of the listing the newest metadata covers; NotFound if none."""
        if not self.tuf_enabled or self._is_developer_signed(name):
            return self._last_built_listing(name, fmt)
        path = listing_target(name, fmt)
        target = self.published.find_index_signed_target(path)
        if target is None:
            raise NotFound(f"no project {name!r}")
        return target_key(path, target.hashes["sha256"])

    def plain_target_key(self, name: NormalizedName, basename: str) -> str:
        """Storage key of a target asked for by its plain name; NotFound if none."""
        fmt = LISTING_FORMATS.get(basename)
        if fmt is not None:
            return self.listing_key(name, fmt)
        filename = basename.removesuffix(".metadata")
        with self.db.read_session() as session:
            row = queries.live_file(session, name, filename)
        if row is None:
            raise NotFound(basename)
        path = f"{project_dir(name)}/{basename}"
        if basename.endswith(".metadata"):
            if row.core_metadata_sha256 is None:
                raise NotFound(basename)
            return target_key(path, row.core_metadata_sha256)
        return target_key(path, row.sha256)

    def published_names(self) -> list[str]:
        """Every project with a published listing, by name (the ``/simple/`` root page)."""
        with self.db.read_session() as session:
            return queries.published_project_names(session)

    def _is_developer_signed(self, name: NormalizedName) -> bool:
        with self.db.read_session() as session:
            return queries.has_published_role_version(session, name)

    def _last_built_listing(self, name: NormalizedName, fmt: ListingFormat) -> str:
        with self.db.read_session() as session:
            listing = queries.published_listing(session, name)
        if listing is None:
            raise NotFound(f"no project {name!r}")
        return listing.json_key if fmt == "json" else listing.html_key
