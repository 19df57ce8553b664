"""Every storage key: where each piece of published and kept state sits in the blob store.

Keys of what is served are the URL paths under ``/tuf/``; three folders are
never served::

    metadata/N.root.json, metadata/root.json     every root, and a copy of the newest
    metadata/V.ROLE.json                         every other role, by version
    metadata/timestamp.json                      the only unversioned name; replaced last
    targets/PREFIX/NAME/SHA256.BASENAME          target bytes by consistent-snapshot name
    developer/PREFIX/NAME/V.json                 accepted developer-signed role versions
    pending/PREFIX/NAME/ID.json                  releases waiting for co-signatures
    events/ID.json                               signing events and their signatures

This module is the only place that spells them. No IO here.
"""

from __future__ import annotations

import re

from packaging.utils import NormalizedName

from endorse.metadata.paths import consistent_target_path, project_dir

__all__ = [
    "METADATA_PREFIX",
    "ROOT_KEY",
    "TARGETS_PREFIX",
    "TIMESTAMP_KEY",
    "developer_role_key",
    "event_key",
    "metadata_file_key",
    "metadata_key",
    "parse_metadata_key",
    "path_of_target_key",
    "pending_release_key",
    "served_target_key",
    "target_key",
]

METADATA_PREFIX = "metadata/"
TARGETS_PREFIX = "targets/"
TIMESTAMP_KEY = METADATA_PREFIX + "timestamp.json"
ROOT_KEY = METADATA_PREFIX + "root.json"

_VERSIONED = re.compile(rf"^{METADATA_PREFIX}(\d+)\.(.+)\.json$")


def metadata_key(role: str, version: int) -> str:
    """Storage key of one version of a role (``metadata/V.ROLE.json``)."""
    return f"{METADATA_PREFIX}{version}.{role}.json"


def metadata_file_key(filename: str) -> str:
    """Storage key of a metadata file by the name a client asks for (``3.bin-a.json``)."""
    return METADATA_PREFIX + filename


def parse_metadata_key(key: str) -> tuple[str, int] | None:
    """``(role, version)`` of a versioned metadata key, or None for any other key."""
    match = _VERSIONED.match(key)
    return (match.group(2), int(match.group(1))) if match else None


def target_key(target_path: str, sha256: str) -> str:
    """Storage key of a target's bytes (its consistent-snapshot name under ``targets/``)."""
    return TARGETS_PREFIX + consistent_target_path(target_path, sha256)


def served_target_key(consistent_path: str) -> str:
    """Storage key of a target asked for by its consistent name (``PREFIX/NAME/HASH.BASENAME``)."""
    return TARGETS_PREFIX + consistent_path


def path_of_target_key(key: str) -> str:
    """The target path whose bytes a ``target_key`` holds."""
    folder, _, basename = key.removeprefix(TARGETS_PREFIX).rpartition("/")
    return f"{folder}/{basename.split('.', 1)[1]}"


def developer_role_key(name: NormalizedName, version: int) -> str:
    """Where an accepted developer-signed role version is kept (the bytes as signed)."""
    return f"developer/{project_dir(name)}/{version}.json"


def pending_release_key(name: NormalizedName, pending_id: int) -> str:
    """Where a release waiting for co-signatures keeps its metadata."""
    return f"pending/{project_dir(name)}/{pending_id}.json"


def event_key(event_id: int) -> str:
    """Where a signing event's metadata (and the signatures so far) is kept."""
    return f"events/{event_id}.json"
