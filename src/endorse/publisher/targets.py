"""What the index signs for one index-signed project: its files, their core
metadata, and the two listings built from them."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from packaging.utils import NormalizedName
from securesystemslib.signer import Key
from tuf.api.metadata import DelegatedRole, TargetFile, Targets

from endorse.metadata.paths import (
    LISTING_FILENAMES,
    ListingFormat,
    core_metadata_target,
    file_target,
    listing_target,
)
from endorse.metadata.roles import RoleName
from endorse.metadata.storage_keys import target_key
from endorse.metadata.trust import TrustLevel, trust_custom
from endorse.simple.render import (
    ACTIVE,
    ListedFile,
    StatusMarker,
    render_project_html,
    render_project_json,
)
from endorse.storage.db import File


@dataclass(frozen=True)
class RoleVersionToPublish:
    """An accepted developer-signed role version the next batch publishes as signed."""

    role: RoleName
    version: int
    #: Storage key of the bytes as the developers signed them.
    blob_key: str
    #: Its ``project_role_versions`` row, marked published once the batch is.
    row_id: int


@dataclass
class ProjectTargets:
    """Targets of one project and the listing bytes that must be stored."""

    name: NormalizedName
    targets: dict[str, TargetFile] = field(default_factory=dict)
    #: Listing bytes by storage key (files are stored at upload time).
    listing_blobs: dict[str, bytes] = field(default_factory=dict)
    html_key: str = ""
    json_key: str = ""
    #: Target paths of removed files that must leave the metadata.
    removed_paths: set[str] = field(default_factory=set)
    #: Developer-signed role versions to publish.
    role_versions: list[RoleVersionToPublish] = field(default_factory=list)
    #: The per-project delegation to (re)publish under recently-claimed.
    delegation: DelegatedRole | None = None
    delegation_keys: list[Key] = field(default_factory=list)
    #: Files the published listing shows (their ``published`` time is set).
    listed_filenames: set[str] = field(default_factory=set)


def listed_file(name: NormalizedName, f: File) -> ListedFile:
    """What the listing says of a stored file."""
    return ListedFile(
        filename=f.filename,
        version=f.version,
        target_path=file_target(name, f.filename),
        sha256=f.sha256,
        size=f.size,
        upload_time=f.uploaded,
        requires_python=f.requires_python,
        yanked=f.yanked,
        yanked_reason=f.yanked_reason,
        core_metadata_sha256=f.core_metadata_sha256,
    )


def build_project_targets(
    name: NormalizedName, files: Sequence[File], marker: StatusMarker = ACTIVE
) -> ProjectTargets:
    """Targets and listings for an index-signed project from its file records.

    A quarantined project (PEP 792) keeps its file targets, so that lifting the
    quarantine needs no bytes back, but its signed listings offer no file.
    """
    result = ProjectTargets(name)
    live = [f for f in files if not f.removed]
    for f in live:
        path = file_target(name, f.filename)
        result.targets[path] = TargetFile(
            f.size,
            {"sha256": f.sha256},
            path,
            {"custom": trust_custom(TrustLevel(f.trust_level))},
        )
        if f.core_metadata_sha256 and f.core_metadata_size is not None:
            core_path = core_metadata_target(name, f.filename)
            result.targets[core_path] = TargetFile(
                f.core_metadata_size, {"sha256": f.core_metadata_sha256}, core_path
            )
    for f in files:
        if f.removed:
            result.removed_paths.add(file_target(name, f.filename))
            result.removed_paths.add(core_metadata_target(name, f.filename))
    offered = [listed_file(name, f) for f in live] if marker.status.offers_files else []
    _add_listings(result, name, offered, marker, signed=True)
    return result


def build_claimed_project_targets(
    name: NormalizedName,
    files: Sequence[File],
    role: Targets | None,
    marker: StatusMarker = ACTIVE,
) -> ProjectTargets:
    """A claimed project: nothing of it in the bins; its listing shows exactly the
    files its developers signed (DESIGN rule 4), with yanks they signed."""
    result = ProjectTargets(name)
    for f in files:
        result.removed_paths.add(file_target(name, f.filename))
        result.removed_paths.add(core_metadata_target(name, f.filename))
    for fmt in LISTING_FILENAMES:
        result.removed_paths.add(listing_target(name, fmt))
    signed = role.targets if role is not None else {}
    listed = []
    for f in files:
        if f.removed:
            continue
        target = signed.get(file_target(name, f.filename))
        if target is None or target.hashes.get("sha256") != f.sha256:
            continue
        entry = listed_file(name, f)
        yanked = target.custom.get("yanked") if isinstance(target.custom, dict) else None
        if yanked:
            entry = replace(
                entry, yanked=True, yanked_reason=str(yanked) if yanked is not True else ""
            )
        listed.append(entry)
    _add_listings(result, name, listed if marker.status.offers_files else [], marker, signed=False)
    return result


def _add_listings(
    result: ProjectTargets,
    name: NormalizedName,
    listed: list[ListedFile],
    marker: StatusMarker,
    *,
    signed: bool,
) -> None:
    result.listed_filenames = {f.filename for f in listed}
    rendered: dict[ListingFormat, bytes] = {
        "html": render_project_html(name, listed, marker),
        "json": render_project_json(name, listed, marker),
    }
    for fmt, data in rendered.items():
        path = listing_target(name, fmt)
        sha256 = hashlib.sha256(data).hexdigest()
        key = target_key(path, sha256)
        if signed:
            result.targets[path] = TargetFile(len(data), {"sha256": sha256}, path)
        result.listing_blobs[key] = data
        if fmt == "html":
            result.html_key = key
        else:
            result.json_key = key
