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
from collections.abc import Iterable
from dataclasses import dataclass
from email.parser import BytesParser
from pathlib import Path, PurePosixPath
from typing import Literal

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
#: Archive extensions of sdists, new and historic (PyPI accepts only .tar.gz today).
ARCHIVE_SUFFIXES = (".tar.gz", ".tar.bz2", ".tar.xz", ".tgz", ".tar", ".zip")
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
    #: The wheel's ``METADATA`` (served as ``FILENAME.metadata``); None for other kinds.
    core_metadata: bytes | None
    requires_python: str | None
    #: PyPI's ``python_version`` of the file: ``source`` for an sdist, else its Python tag.
    python_version: str

    @classmethod
    def of_file(
        cls,
        path: Path,
        filename: str,
        name: NormalizedName,
        version: Version,
        packagetype: str,
        *,
        core_metadata: bytes | None,
        requires_python: str | None,
        python_version: str,
    ) -> Distribution:
        """The record of a checked file: what it is, plus its digests and size."""
        sha256, blake2_256, md5, size = file_digests(path)
        return cls(
            name=name,
            version=version,
            filename=filename,
            packagetype=packagetype,
            size=size,
            sha256=sha256,
            blake2_256=blake2_256,
            md5=md5,
            core_metadata=core_metadata,
            requires_python=requires_python,
            python_version=python_version,
        )


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
    if packagetype == WHEEL:
        core = _wheel_metadata(path, filename, name, version)
        python_version = filename[: -len(".whl")].split("-")[-3]
    else:
        core = sdist_pkg_info(path, filename, "r:gz")
        check_core_metadata(filename, core, name, version)
        python_version = "source"
    return Distribution.of_file(
        path,
        filename,
        name,
        version,
        packagetype,
        core_metadata=core if packagetype == WHEEL else None,
        requires_python=core_metadata_field(core, "Requires-Python"),
        python_version=python_version,
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


def check_member(filename: str, member: str) -> None:
    """Refuse an archive member that is absolute, climbs out with ``..`` or uses ``\\``."""
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
                check_member(filename, member)
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
    check_core_metadata(filename, core, name, version)
    return core


def sdist_pkg_info(path: Path, filename: str, mode: Literal["r:gz", "r:*"] = "r:gz") -> bytes:
    """An sdist's ``<folder>/PKG-INFO``, where ``<folder>`` is its one top-level folder.

    As on PyPI, the folder's name need not match the filename: older tools wrote
    the project's name unnormalised (``ruamel.yaml-0.19.1/`` in
    ``ruamel_yaml-0.19.1.tar.gz``); PKG-INFO must still name the project and
    version of the filename (the caller checks it). ``mode`` is tarfile's
    (``r:gz``, or ``r:*`` for a historic ``.tar.bz2``); a ``.zip`` sdist is read
    as a zip archive.
    """
    try:
        if filename.endswith(".zip"):
            with zipfile.ZipFile(path) as archive:
                infos = {i.filename: i for i in archive.infolist()}
                member = _top_folder_file(filename, ((n, not i.is_dir()) for n, i in infos.items()))
                if infos[member].file_size > MAX_CORE_METADATA:
                    raise UploadRejected(f"Sdist {filename!r} has an oversized PKG-INFO.")
                return archive.read(member)
        with tarfile.open(path, mode=mode) as archive:
            members = {m.name: m for m in archive.getmembers()}
            member = _top_folder_file(filename, ((n, m.isfile()) for n, m in members.items()))
            if members[member].size > MAX_CORE_METADATA:
                raise UploadRejected(f"Sdist {filename!r} has an oversized PKG-INFO.")
            extracted = archive.extractfile(members[member])
            return extracted.read() if extracted else b""
    except (tarfile.TarError, zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as e:
        suffix = next((x for x in ARCHIVE_SUFFIXES if filename.endswith(x)), "")
        raise UploadRejected(f"Sdist {filename!r} is not a valid {suffix} archive: {e}") from e


def _top_folder_file(filename: str, members: Iterable[tuple[str, bool]]) -> str:
    """The name of ``<folder>/PKG-INFO`` in an archive whose members sit in one folder."""
    folders: set[str] = set()
    found: dict[str, str] = {}
    for member, is_file in members:
        check_member(filename, member)
        parts = PurePosixPath(member).parts
        if not parts:
            continue
        folders.add(parts[0])
        if parts[1:] == ("PKG-INFO",) and is_file:
            found[parts[0]] = member
    if len(folders) != 1:
        shown = ", ".join(sorted(folders)[:3]) or "nothing"
        raise UploadRejected(
            f"Sdist {filename!r} must hold exactly one top-level folder, "
            f"not {len(folders)} ({shown})."
        )
    (folder,) = folders
    if folder not in found:
        raise UploadRejected(f"Sdist {filename!r} has no {folder}/PKG-INFO file.")
    return found[folder]


def check_core_metadata(filename: str, core: bytes, name: NormalizedName, version: Version) -> None:
    """Refuse core metadata (METADATA, PKG-INFO) that names another project or version."""
    meta_name = core_metadata_field(core, "Name")
    meta_version = core_metadata_field(core, "Version")
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


def core_metadata_field(core: bytes, field: str) -> str | None:
    message = BytesParser().parsebytes(core, headersonly=True)
    value = message.get(field)
    return str(value).strip() if value is not None else None
