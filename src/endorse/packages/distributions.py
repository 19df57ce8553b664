"""Checks on an uploaded distribution file, done before anything is stored.

Mirrors what PyPI checks: the filename parses (PEP 427 wheels, PEP 625
sdists) and agrees with the declared name and version, wheel tags are valid
and installable from an index, the archive opens, its core metadata names the
same project and version, and no member tries to escape its folder.
"""

from __future__ import annotations

import hashlib
import re
import tarfile
import zipfile
from dataclasses import dataclass
from email.parser import BytesParser
from pathlib import Path, PurePosixPath

from packaging.tags import Tag
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from endorse.errors import UploadRejected

WHEEL = "bdist_wheel"
SDIST = "sdist"
_FILENAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+!-]*$")
#: Most bytes of core metadata the index extracts and serves (PEP 658).
MAX_CORE_METADATA = 5 * 1024 * 1024


@dataclass(frozen=True)
class Distribution:
    """A distribution file that passed every check."""

    name: NormalizedName
    version: Version
    filename: str
    packagetype: str
    size: int
    sha256: str
    blake2_256: str
    md5: str
    #: The wheel's ``METADATA`` (served as ``FILENAME.metadata``); None for sdists.
    core_metadata: bytes | None
    requires_python: str | None


def check_filename(filename: str) -> str:
    """Refuse filenames with paths, odd characters or hidden-file tricks."""
    if (
        not filename
        or len(filename) > 255
        or not _FILENAME_RE.fullmatch(filename)
        or ".." in filename
    ):
        raise UploadRejected(
            f"Invalid filename {filename!r}: only letters, digits and . _ + ! - are "
            "allowed, with no path.",
        )
    return filename


def inspect_distribution(
    path: Path,
    filename: str,
    *,
    declared_name: str | None = None,
    declared_version: str | None = None,
    declared_type: str | None = None,
) -> Distribution:
    """Check a distribution file and return what the index records of it."""
    check_filename(filename)
    if filename.endswith(".whl"):
        name, version, tags = _parse_wheel(filename)
        packagetype = WHEEL
    elif filename.endswith(".tar.gz"):
        name, version = _parse_sdist(filename)
        packagetype = SDIST
        tags = None
    else:
        raise UploadRejected(
            f"Invalid file extension: {filename!r} is neither a wheel (.whl) nor an "
            "sdist (.tar.gz); see PEP 527 and PEP 625."
        )
    if declared_type is not None and declared_type != packagetype:
        raise UploadRejected(
            f"Invalid filetype {declared_type!r} for {filename!r}: expected {packagetype!r}."
        )
    if declared_name is not None and canonicalize_name(declared_name) != name:
        raise UploadRejected(
            f"Filename {filename!r} does not match the project name {declared_name!r}."
        )
    if declared_version is not None:
        try:
            matches = Version(declared_version) == version
        except InvalidVersion as e:
            raise UploadRejected(f"Invalid version {declared_version!r}: see PEP 440.") from e
        if not matches:
            raise UploadRejected(
                f"Filename {filename!r} does not match the version {declared_version!r}."
            )
    if tags is not None:
        for tag in tags:
            if tag.platform.startswith("linux_"):
                raise UploadRejected(
                    f"Binary wheel {filename!r} has an unsupported platform tag "
                    f"{tag.platform!r}: use a manylinux or musllinux tag (PEP 600, 656)."
                )
    sha256, blake2_256, md5, size = file_digests(path)
    if packagetype == WHEEL:
        core = _wheel_metadata(path, filename, name, version)
    else:
        core = _sdist_metadata(path, filename, name, version)
    requires_python = _header(core, "Requires-Python")
    return Distribution(
        name=name,
        version=version,
        filename=filename,
        packagetype=packagetype,
        size=size,
        sha256=sha256,
        blake2_256=blake2_256,
        md5=md5,
        core_metadata=core if packagetype == WHEEL else None,
        requires_python=requires_python,
    )


def file_digests(path: Path) -> tuple[str, str, str, int]:
    """SHA-256, BLAKE2b-256 and MD5 hex digests and the size of a file, in one pass."""
    sha256 = hashlib.sha256()
    blake2 = hashlib.blake2b(digest_size=32)
    md5 = hashlib.md5(usedforsecurity=False)
    size = 0
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            sha256.update(chunk)
            blake2.update(chunk)
            md5.update(chunk)
            size += len(chunk)
    return sha256.hexdigest(), blake2.hexdigest(), md5.hexdigest(), size


def _parse_wheel(filename: str) -> tuple[NormalizedName, Version, frozenset[Tag]]:
    try:
        name, version, _build, tags = parse_wheel_filename(filename)
    except (InvalidWheelFilename, InvalidVersion) as e:
        raise UploadRejected(f"Invalid wheel filename {filename!r}: {e}") from e
    return name, version, frozenset(tags)


def _parse_sdist(filename: str) -> tuple[NormalizedName, Version]:
    try:
        return parse_sdist_filename(filename)
    except (InvalidSdistFilename, InvalidVersion) as e:
        raise UploadRejected(f"Invalid sdist filename {filename!r}: {e}") from e


def _check_member(filename: str, member: str) -> None:
    pure = PurePosixPath(member)
    if pure.is_absolute() or ".." in pure.parts or "\\" in member:
        raise UploadRejected(
            f"Archive {filename!r} has a member that escapes its folder: {member!r}."
        )


def _wheel_metadata(path: Path, filename: str, name: NormalizedName, version: Version) -> bytes:
    try:
        with zipfile.ZipFile(path) as wheel:
            names = wheel.namelist()
            for member in names:
                _check_member(filename, member)
            dist_info = [
                n.split("/")[0]
                for n in names
                if n.count("/") == 1 and n.endswith(".dist-info/METADATA")
            ]
            if len(dist_info) != 1:
                raise UploadRejected(
                    f"Wheel {filename!r} must hold exactly one .dist-info/METADATA, "
                    f"found {len(dist_info)}."
                )
            if f"{dist_info[0]}/WHEEL" not in names:
                raise UploadRejected(f"Wheel {filename!r} has no .dist-info/WHEEL file.")
            info = wheel.getinfo(f"{dist_info[0]}/METADATA")
            if info.file_size > MAX_CORE_METADATA:
                raise UploadRejected(f"Wheel {filename!r} has an oversized METADATA file.")
            core = wheel.read(info)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as e:
        raise UploadRejected(f"Wheel {filename!r} is not a valid zip archive: {e}") from e
    _check_core_metadata(filename, core, name, version)
    return core


def _sdist_metadata(path: Path, filename: str, name: NormalizedName, version: Version) -> bytes:
    """The sdist's ``<folder>/PKG-INFO``, where ``<folder>`` is its one top-level folder.

    As on PyPI, the folder's name need not match the filename: older tools wrote
    the project's name unnormalised (``ruamel.yaml-0.19.1/`` in
    ``ruamel_yaml-0.19.1.tar.gz``). PKG-INFO must still name the project and
    version of the filename.
    """
    folders: set[str] = set()
    pkg_info: dict[str, tarfile.TarInfo] = {}
    try:
        with tarfile.open(path, mode="r:gz") as sdist:
            for member in sdist:
                _check_member(filename, member.name)
                parts = PurePosixPath(member.name).parts
                if not parts:
                    continue
                folders.add(parts[0])
                if parts[1:] == ("PKG-INFO",) and member.isfile():
                    pkg_info[parts[0]] = member
            if len(folders) != 1:
                shown = ", ".join(sorted(folders)[:3]) or "nothing"
                raise UploadRejected(
                    f"Sdist {filename!r} must hold exactly one top-level folder, "
                    f"not {len(folders)} ({shown})."
                )
            (folder,) = folders
            found = pkg_info.get(folder)
            if found is None:
                raise UploadRejected(f"Sdist {filename!r} has no {folder}/PKG-INFO file.")
            if found.size > MAX_CORE_METADATA:
                raise UploadRejected(f"Sdist {filename!r} has an oversized PKG-INFO.")
            extracted = sdist.extractfile(found)
            data = extracted.read() if extracted else b""
    except (tarfile.TarError, OSError, EOFError) as e:
        raise UploadRejected(f"Sdist {filename!r} is not a valid .tar.gz archive: {e}") from e
    _check_core_metadata(filename, data, name, version)
    return data


def _check_core_metadata(
    filename: str, core: bytes, name: NormalizedName, version: Version
) -> None:
    meta_name = _header(core, "Name")
    meta_version = _header(core, "Version")
    if meta_name is None or meta_version is None:
        raise UploadRejected(f"The core metadata of {filename!r} has no Name or Version.")
    try:
        same_version = Version(meta_version) == version
    except InvalidVersion as e:
        raise UploadRejected(
            f"The core metadata of {filename!r} has an invalid version {meta_version!r}."
        ) from e
    if canonicalize_name(meta_name) != name or not same_version:
        raise UploadRejected(
            f"The core metadata of {filename!r} names {meta_name} {meta_version}, "
            "which does not match the filename."
        )


def _header(core: bytes, field: str) -> str | None:
    message = BytesParser().parsebytes(core, headersonly=True)
    value = message.get(field)
    return str(value).strip() if value is not None else None
