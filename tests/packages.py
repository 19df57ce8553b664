"""Build small but real distributions at test time (no network, no build backend)."""

from __future__ import annotations

import base64
import hashlib
import io
import tarfile
import zipfile
from pathlib import Path

from packaging.utils import canonicalize_name


def _core_metadata(
    name: str, version: str, deps: list[str], requires_python: str | None, headers: str = ""
) -> str:
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    if requires_python:
        lines.append(f"Requires-Python: {requires_python}")
    lines += [f"Requires-Dist: {d}" for d in deps]
    lines += [h for h in headers.splitlines() if h]
    return "\n".join(lines) + "\n\n"


def _record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def make_wheel(
    folder: Path,
    name: str,
    version: str,
    *,
    deps: list[str] | None = None,
    requires_python: str | None = None,
    payload: str = "",
    filename: str | None = None,
    metadata_name: str | None = None,
    headers: str = "",
) -> Path:
    """A pure-Python wheel whose module ``<name>`` sets ``VERSION`` (``headers``: more
    core metadata lines, ``Summary: ...``)."""
    folder.mkdir(parents=True, exist_ok=True)
    dist = canonicalize_name(name).replace("-", "_")
    module = f"{dist}/__init__.py"
    files: dict[str, bytes] = {
        module: f"VERSION = {version!r}\n{payload}\n".encode(),
        f"{dist}-{version}.dist-info/METADATA": _core_metadata(
            metadata_name or name, version, deps or [], requires_python, headers
        ).encode(),
        f"{dist}-{version}.dist-info/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: endorse-tests\nRoot-Is-Purelib: true\n"
            b"Tag: py3-none-any\n"
        ),
    }
    record_path = f"{dist}-{version}.dist-info/RECORD"
    record = "\n".join(_record_line(p, d) for p, d in files.items()) + f"\n{record_path},,\n"
    files[record_path] = record.encode()
    path = folder / (filename or f"{dist}-{version}-py3-none-any.whl")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as wheel:
        for member, data in files.items():
            wheel.writestr(zipfile.ZipInfo(member, (2020, 1, 1, 0, 0, 0)), data)
    return path


def make_sdist(
    folder: Path, name: str, version: str, *, requires_python: str | None = None
) -> Path:
    """A minimal sdist (PEP 625 name, PKG-INFO, pyproject.toml)."""
    folder.mkdir(parents=True, exist_ok=True)
    dist = canonicalize_name(name).replace("-", "_")
    base = f"{dist}-{version}"
    members = {
        f"{base}/PKG-INFO": _core_metadata(name, version, [], requires_python).encode(),
        f"{base}/pyproject.toml": (
            f'[project]\nname = "{name}"\nversion = "{version}"\n'
            '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
        ).encode(),
        f"{base}/{dist}/__init__.py": f"VERSION = {version!r}\n".encode(),
    }
    path = folder / f"{base}.tar.gz"
    with tarfile.open(path, "w:gz") as sdist:
        for member, data in members.items():
            info = tarfile.TarInfo(member)
            info.size = len(data)
            info.mtime = 1577836800
            sdist.addfile(info, io.BytesIO(data))
    return path
