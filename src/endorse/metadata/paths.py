"""Target paths: where each file, core-metadata file and listing sits in TUF.

Every target of a project lives in one folder that begins with a short hash
prefix of the normalised project name::

    3f2a/requests/requests-2.32.3-py3-none-any.whl
    3f2a/requests/requests-2.32.3-py3-none-any.whl.metadata   (PEP 658)
    3f2a/requests/index.html                                  (PEP 503 listing)
    3f2a/requests/index.v1.json                               (PEP 691 listing)

The prefix lets ordinary TUF path patterns (``3f*/*/*``, ``3f2*/*/*``) route
projects to shards of ``claimed`` without renaming any target, and keeps a
project's files and listings under one pattern (``3f2a/requests/*``), which is
what a per-project delegation names.
"""

from __future__ import annotations

import hashlib
import re
from typing import Literal

from packaging.utils import InvalidName, NormalizedName, canonicalize_name

#: Hex digits of SHA-256(normalised name) that prefix a project's folder.
PREFIX_HEX_DIGITS = 4

ListingFormat = Literal["html", "json"]
LISTING_FILENAMES: dict[ListingFormat, str] = {"html": "index.html", "json": "index.v1.json"}
#: Basename of a listing target -> its format.
LISTING_FORMATS: dict[str, ListingFormat] = {v: k for k, v in LISTING_FILENAMES.items()}

_PREFIX_RE = re.compile(rf"^[0-9a-f]{{{PREFIX_HEX_DIGITS}}}$")
_BASENAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+!-]*$")
_CONSISTENT_RE = re.compile(r"^([0-9a-f]{64})\.(.+)$")


def project_prefix(name: NormalizedName) -> str:
    """The hash prefix of a project's folder."""
    return hashlib.sha256(name.encode()).hexdigest()[:PREFIX_HEX_DIGITS]


def project_dir(name: NormalizedName) -> str:
    """The folder (``prefix/name``) that holds every target of a project."""
    return f"{project_prefix(name)}/{name}"


def project_paths_pattern(name: NormalizedName) -> str:
    """The delegation path pattern that covers exactly one project's targets."""
    return f"{project_dir(name)}/*"


def file_target(name: NormalizedName, filename: str) -> str:
    """Target path of a distribution file."""
    return f"{project_dir(name)}/{filename}"


def core_metadata_target(name: NormalizedName, filename: str) -> str:
    """Target path of a wheel's extracted core metadata (PEP 658)."""
    return f"{file_target(name, filename)}.metadata"


def listing_target(name: NormalizedName, fmt: ListingFormat) -> str:
    """Target path of a project's Simple API listing in one format."""
    return f"{project_dir(name)}/{LISTING_FILENAMES[fmt]}"


def consistent_target_path(target_path: str, sha256: str) -> str:
    """``dir/HASH.basename``: the name a consistent-snapshot client fetches."""
    folder, _, basename = target_path.rpartition("/")
    return f"{folder}/{sha256}.{basename}"


def parse_target_path(path: str) -> tuple[NormalizedName, str, str | None]:
    """Split a (possibly consistent) target path into name, basename and hash.

    Raises ValueError for anything that is not ``prefix/name/basename`` with the
    right prefix for the name, so that no path trick reaches storage.
    """
    parts = path.split("/")
    if len(parts) != 3:
        raise ValueError(f"not a target path: {path!r}")
    prefix, raw_name, basename = parts
    try:
        name = canonicalize_name(raw_name, validate=True)
    except InvalidName as e:
        raise ValueError(f"not a target path: {path!r}") from e
    if name != raw_name or not _PREFIX_RE.fullmatch(prefix) or prefix != project_prefix(name):
        raise ValueError(f"not a target path: {path!r}")
    digest: str | None = None
    match = _CONSISTENT_RE.fullmatch(basename)
    if match:
        digest, basename = match.group(1), match.group(2)
    if not _BASENAME_RE.fullmatch(basename) or ".." in basename:
        raise ValueError(f"not a target path: {path!r}")
    return name, basename, digest
