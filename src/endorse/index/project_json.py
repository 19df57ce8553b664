"""PyPI's JSON API (``/pypi/NAME/json``, ``/pypi/NAME/VERSION/json``), with each file's trust.

Dependency bots, auditors (pip-audit) and ``pip index``-like tools read
Warehouse's JSON API, so endorse serves the same shape: ``info`` (from the core
metadata of the release's newest wheel; for a release of sdists only, what
the index recorded of them), ``releases`` (every version, its files), ``urls``
(the files of the version shown) and ``last_serial``. It shows exactly the
files the project's Simple API listing shows. Each file adds what the index
records of its trust (``"trust": {"level": 3, "label": "developer-signed"}``),
and the document adds an ``"endorse"`` object: the project's claim and status
marker.

This document is **not signed**: it is for tools and people. What an installer
must verify is the Simple API listing and the files, which TUF covers; the
``digests`` here are the same SHA-256 the signed metadata records. There is no
MD5 (the index keeps SHA-256 and BLAKE2b-256 only).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from packaging.metadata import parse_email
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from endorse.errors import NotFound
from endorse.index.listings import Listings
from endorse.index.projects import require_project
from endorse.metadata.paths import core_metadata_target, file_target
from endorse.metadata.storage_keys import target_key
from endorse.metadata.trust import TrustLevel
from endorse.storage import BlobStore
from endorse.storage.db import Database, File, queries
from endorse.storage.published import PublishedMetadata

__all__ = ["ProjectJson"]

logger = logging.getLogger(__name__)

#: Core metadata fields -> the ``info`` keys Warehouse names them by.
_INFO_FIELDS = {
    "summary": "summary",
    "description": "description",
    "description_content_type": "description_content_type",
    "home_page": "home_page",
    "download_url": "download_url",
    "author": "author",
    "author_email": "author_email",
    "maintainer": "maintainer",
    "maintainer_email": "maintainer_email",
    "license": "license",
    "license_expression": "license_expression",
    "requires_python": "requires_python",
}
_LIST_FIELDS = {
    "classifiers": "classifiers",
    "requires_dist": "requires_dist",
    "platforms": "platform",
    "provides_extra": "provides_extra",
    "dynamic": "dynamic",
}


@dataclass(frozen=True)
class _Entry:
    """A listed file: its record, and its yank state as the listing (which is signed) has it."""

    file: File
    yanked: bool
    yanked_reason: str


@dataclass(frozen=True)
class _Release:
    version: Version
    files: list[_Entry]


class ProjectJson:
    """Builds the JSON API documents from the database, the listing and the core metadata."""

    def __init__(
        self, db: Database, store: BlobStore, listings: Listings, published: PublishedMetadata
    ) -> None:
        self.db = db
        self.store = store
        self.listings = listings
        self.published = published

    def project(self, name: str, base_url: str) -> dict[str, Any]:
        """``/pypi/NAME/json``: the newest version's ``info`` and every release."""
        project, releases, extra = self._load(name)
        shown = _newest(releases)
        document = self._document(project, shown, base_url, extra)
        document["releases"] = {
            str(r.version): [self._file(project, f, base_url) for f in r.files]
            for r in sorted(releases, key=lambda r: r.version)
        }
        return document

    def release(self, name: str, version: str, base_url: str) -> dict[str, Any]:
        """``/pypi/NAME/VERSION/json``: one release's ``info`` and files."""
        project, releases, extra = self._load(name)
        try:
            wanted = Version(version)
        except InvalidVersion as e:
            raise NotFound(f"{name!r} has no release {version!r}") from e
        shown = next((r for r in releases if r.version == wanted), None)
        if shown is None:
            raise NotFound(f"{project!r} has no release {version!r}")
        return self._document(project, shown, base_url, extra)

    def _load(self, name: str) -> tuple[NormalizedName, list[_Release], dict[str, Any]]:
        normalised = canonicalize_name(name)
        listed = self._listed(normalised)
        with self.db.read_session() as session:
            project = require_project(session, normalised)
            files = [f for f in queries.live_files(session, project.id) if f.filename in listed]
            claim = queries.claim_of(session, project.id)
            extra = {
                "claim": claim.state.value if claim is not None else None,
                "project_status": {"status": project.status.value, "reason": project.status_reason},
            }
        by_version: dict[Version, list[_Entry]] = {}
        for f in files:
            yanked = listed[f.filename]
            entry = _Entry(f, yanked is not False, yanked if isinstance(yanked, str) else "")
            by_version.setdefault(Version(f.version), []).append(entry)
        releases = [
            _Release(v, sorted(es, key=lambda e: e.file.filename)) for v, es in by_version.items()
        ]
        return normalised, releases, extra

    def _listed(self, name: NormalizedName) -> dict[str, bool | str]:
        """Filename -> its PEP 691 ``yanked`` value, of the files the listing shows."""
        try:
            key = self.listings.listing_key(name, "json")
        except NotFound:
            return {}
        page = json.loads(self.store.get(key))
        return {str(f["filename"]): f.get("yanked") or False for f in page["files"]}

    def _document(
        self, name: NormalizedName, shown: _Release | None, base_url: str, extra: dict[str, Any]
    ) -> dict[str, Any]:
        info = self._info(name, shown, base_url)
        timestamp = self.published.timestamp() if self.published.is_initialised() else None
        return {
            "info": info,
            "last_serial": timestamp.signed.version if timestamp is not None else 0,
            "urls": [self._file(name, f, base_url) for f in shown.files] if shown else [],
            "vulnerabilities": [],
            "endorse": extra,
        }

    def _info(self, name: NormalizedName, shown: _Release | None, base_url: str) -> dict[str, Any]:
        info: dict[str, Any] = {key: None for key in _INFO_FIELDS.values()}
        info.update({key: [] for key in _LIST_FIELDS.values()})
        info.update(
            {
                "name": name,
                "version": str(shown.version) if shown else None,
                "keywords": "",
                "project_urls": {},
                "package_url": f"{base_url}/project/{name}/",
                "project_url": f"{base_url}/project/{name}/",
                "release_url": f"{base_url}/project/{name}/{shown.version}/" if shown else None,
                "yanked": bool(shown and all(e.yanked for e in shown.files)),
                "yanked_reason": None,
            }
        )
        if shown is None:
            return info
        reasons = [e.yanked_reason for e in shown.files if e.yanked and e.yanked_reason]
        info["yanked_reason"] = reasons[0] if info["yanked"] and reasons else None
        info["requires_python"] = next(
            (e.file.requires_python for e in shown.files if e.file.requires_python), None
        )
        core = self._core_metadata(name, shown)
        if core is not None:
            raw, _unparsed = parse_email(core)
            for field, key in _INFO_FIELDS.items():
                value = raw.get(field)
                if isinstance(value, str):
                    info[key] = value
            for field, key in _LIST_FIELDS.items():
                value = raw.get(field)
                if isinstance(value, list):
                    info[key] = value
            keywords = raw.get("keywords")
            info["keywords"] = ",".join(keywords) if isinstance(keywords, list) else ""
            urls = raw.get("project_urls")
            info["project_urls"] = dict(urls) if isinstance(urls, dict) else {}
        return info

    def _core_metadata(self, name: NormalizedName, release: _Release) -> bytes | None:
        """The core metadata of the release's newest wheel (the index keeps it, PEP 658)."""
        for f in sorted((e.file for e in release.files), key=lambda f: f.uploaded, reverse=True):
            if f.core_metadata_sha256 is None:
                continue
            key = target_key(core_metadata_target(name, f.filename), f.core_metadata_sha256)
            try:
                return self.store.get(key)
            except NotFound:
                logger.warning("core metadata of %s is missing from the store", f.filename)
        return None

    def _file(self, name: NormalizedName, entry: _Entry, base_url: str) -> dict[str, Any]:
        f = entry.file
        level = TrustLevel(f.trust_level)
        uploaded = f.uploaded.astimezone(UTC)
        return {
            "filename": f.filename,
            "packagetype": f.packagetype,
            "python_version": f.python_version,
            "requires_python": f.requires_python,
            "size": f.size,
            "digests": {"sha256": f.sha256, "blake2b_256": f.blake2_256},
            "upload_time": uploaded.strftime("%Y-%m-%dT%H:%M:%S"),
            "upload_time_iso_8601": uploaded.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "url": f"{base_url}/tuf/targets/{file_target(name, f.filename)}",
            "yanked": entry.yanked,
            "yanked_reason": entry.yanked_reason or None,
            "has_sig": False,
            "comment_text": "",
            "downloads": -1,
            "trust": {"level": int(level), "label": level.label},
        }


def _newest(releases: list[_Release]) -> _Release | None:
    """Warehouse's choice: the newest release that is neither yanked nor a pre-release,
    else the newest not yanked, else the newest."""
    ordered = sorted(releases, key=lambda r: r.version, reverse=True)
    standing = [r for r in ordered if not all(e.yanked for e in r.files)]
    final = [r for r in standing if not r.version.is_prerelease]
    for choice in (final, standing, ordered):
        if choice:
            return choice[0]
    return None
