"""Distribution formats PyPI once accepted and refuses today, for back-signing only.

An index that back-signs a mirror of PyPI (``endorse admin import``) must sign
every file the mirror serves, or say which it left out and why. New uploads of
these kinds are refused, as on PyPI (PEP 527: sdists are ``.tar.gz`` or
``.zip``; PEP 625: ``.tar.gz`` only):

=========================================  ==============  =====================================
file                                       kind            checked
=========================================  ==============  =====================================
``name-1.0.zip``, ``.tar.bz2``, ``.tgz``,  sdist           one top-level folder with a PKG-INFO
``.tar.xz``, ``.tar``                                      that names the project and version
``name-1.0-py2.7[-platform].egg``          bdist_egg       ``EGG-INFO/PKG-INFO`` names them
``name-1.0.win32[-py2.7].exe``             bdist_wininst   its zip payload opens, no member
                                                           escapes its folder
``name-1.0.win-amd64[-py3.6].msi``         bdist_msi       nothing inside (an opaque Windows
                                                           installer): signed as its bytes
=========================================  ==============  =====================================

The name and version come from the filename (the part after the last ``-``
that is a PEP 440 version, for sdists); a version that is not PEP 440 is
refused with that reason, as pip ignores such files too. None of these get a
PEP 658 ``.metadata`` file: only wheels do.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from endorse.errors import UploadRejected
from endorse.packages.distributions import (
    ARCHIVE_SUFFIXES,
    MAX_CORE_METADATA,
    SDIST,
    Distribution,
    check_core_metadata,
    check_filename,
    check_member,
    sdist_pkg_info,
)

__all__ = ["HISTORIC_SUFFIXES", "inspect_historic"]

EGG = "bdist_egg"
WININST = "bdist_wininst"
MSI = "bdist_msi"
#: What an import accepts beyond wheels and .tar.gz sdists.
HISTORIC_SUFFIXES = (*ARCHIVE_SUFFIXES, ".egg", ".exe", ".msi")
_EGG = re.compile(r"^(?P<name>[^-]+)-(?P<version>[^-]+)(?:-py(?P<python>\d+\.\d+))?(?:-.+)?$")
_INSTALLER = re.compile(
    r"^(?P<name>.+?)-(?P<version>[^-]+?)\.(?:win32|win-amd64|win-arm64|win-arm32)"
    r"(?:-py(?P<python>\d+\.\d+))?$"
)


def inspect_historic(path: Path, filename: str) -> Distribution:
    """Check a file of a historic format and return what the index records of it."""
    check_filename(filename)
    if filename.endswith(".egg"):
        name, version, python = _split(filename, ".egg", _EGG)
        _check_egg(path, filename, name, version)
        packagetype = EGG
    elif filename.endswith((".exe", ".msi")):
        suffix = filename[-4:]
        name, version, python = _split(filename, suffix, _INSTALLER)
        if suffix == ".exe":
            _check_zip_payload(path, filename)
        packagetype = WININST if suffix == ".exe" else MSI
    elif filename.endswith(ARCHIVE_SUFFIXES):
        suffix = next(x for x in ARCHIVE_SUFFIXES if filename.endswith(x))
        name, version = _split_sdist(filename, suffix)
        core = sdist_pkg_info(path, filename, "r:*")
        check_core_metadata(filename, core, name, version)
        python, packagetype = "source", SDIST
    else:
        raise UploadRejected(
            f"{filename!r} is not a distribution format PyPI serves (wheels, sdists, "
            "eggs, Windows installers)"
        )
    return Distribution.of_file(
        path,
        filename,
        name,
        version,
        packagetype,
        core_metadata=None,
        requires_python=None,
        python_version=python or "any",
    )


def _version(filename: str, raw: str) -> Version:
    try:
        return Version(raw)
    except InvalidVersion as e:
        raise UploadRejected(
            f"{filename!r} has the version {raw!r}, which is not a PEP 440 version "
            "(pip ignores such files too)"
        ) from e


def _split(
    filename: str, suffix: str, pattern: re.Pattern[str]
) -> tuple[NormalizedName, Version, str | None]:
    match = pattern.fullmatch(filename.removesuffix(suffix))
    if match is None:
        raise UploadRejected(f"{filename!r} is not a {suffix} filename setuptools would write")
    name = canonicalize_name(match["name"].replace("_", "-"))
    return name, _version(filename, match["version"].replace("_", "-")), match["python"]


def _split_sdist(filename: str, suffix: str) -> tuple[NormalizedName, Version]:
    """``name-1.0.zip``: the name is everything before the last ``-`` that is followed by
    a PEP 440 version (names may contain ``-``, as in ``python-dateutil-2.8.2.zip``)."""
    stem = filename.removesuffix(suffix)
    name, dash, raw = stem.rpartition("-")
    if not dash or not name:
        raise UploadRejected(f"{filename!r} is not a name-version{suffix} filename")
    return canonicalize_name(name), _version(filename, raw)


def _check_egg(path: Path, filename: str, name: NormalizedName, version: Version) -> None:
    try:
        with zipfile.ZipFile(path) as egg:
            for member in egg.namelist():
                check_member(filename, member)
            try:
                info = egg.getinfo("EGG-INFO/PKG-INFO")
            except KeyError:
                raise UploadRejected(f"Egg {filename!r} has no EGG-INFO/PKG-INFO file.") from None
            if info.file_size > MAX_CORE_METADATA:
                raise UploadRejected(f"Egg {filename!r} has an oversized PKG-INFO.")
            core = egg.read(info)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as e:
        raise UploadRejected(f"Egg {filename!r} is not a valid zip archive: {e}") from e
    check_core_metadata(filename, core, name, version)


def _check_zip_payload(path: Path, filename: str) -> None:
    """A bdist_wininst installer is an executable with a zip archive appended."""
    try:
        with zipfile.ZipFile(path) as payload:
            for member in payload.namelist():
                check_member(filename, member)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as e:
        raise UploadRejected(
            f"Windows installer {filename!r} carries no valid zip payload: {e}"
        ) from e
