"""``inspect_distribution``: what a good file yields, and why each bad one is refused."""

from __future__ import annotations

import hashlib
import io
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from packaging.version import Version

from endorse.errors import UploadRejected
from endorse.packages.distributions import SDIST, WHEEL, check_filename, inspect_distribution
from tests.packages import make_sdist, make_wheel


def test_good_wheel(tmp_path: Path) -> None:
    path = make_wheel(tmp_path, "Hello.World", "2.0", requires_python=">=3.9", deps=["idna"])
    data = path.read_bytes()
    dist = inspect_distribution(
        path,
        path.name,
        declared_name="Hello.World",
        declared_version="2.0",
        declared_type="bdist_wheel",
    )
    assert dist.name == "hello-world"
    assert dist.version == Version("2.0")
    assert dist.filename == "hello_world-2.0-py3-none-any.whl"
    assert dist.packagetype == WHEEL
    assert dist.size == len(data)
    assert dist.sha256 == hashlib.sha256(data).hexdigest()
    assert dist.blake2_256 == hashlib.blake2b(data, digest_size=32).hexdigest()
    assert dist.md5 == hashlib.md5(data, usedforsecurity=False).hexdigest()
    assert dist.requires_python == ">=3.9"
    with zipfile.ZipFile(path) as wheel:
        assert dist.core_metadata == wheel.read("hello_world-2.0.dist-info/METADATA")
    assert dist.core_metadata is not None
    assert b"Requires-Dist: idna" in dist.core_metadata


def test_good_sdist(tmp_path: Path) -> None:
    path = make_sdist(tmp_path, "hello-world", "2.0", requires_python="<4,>=3.8")
    data = path.read_bytes()
    dist = inspect_distribution(
        path,
        path.name,
        declared_name="hello_world",
        declared_version="2.0.0",
        declared_type="sdist",
    )
    assert (dist.name, dist.version, dist.packagetype) == ("hello-world", Version("2.0"), SDIST)
    assert dist.sha256 == hashlib.sha256(data).hexdigest()
    assert dist.blake2_256 == hashlib.blake2b(data, digest_size=32).hexdigest()
    assert dist.size == len(data)
    assert dist.core_metadata is None
    assert dist.requires_python == "<4,>=3.8"


def test_declared_fields_are_optional(tmp_path: Path) -> None:
    path = make_wheel(tmp_path, "hello-world", "2.0")
    assert inspect_distribution(path, path.name).requires_python is None


# ---------------------------------------------------------------------------- refusals


def _zip(path: Path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name, (2020, 1, 1, 0, 0, 0)), data)


def _tar_gz(path: Path, members: dict[str, bytes]) -> None:
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))


def _wheel_members(
    tag: str = "py3-none-any", meta: str = "Name: hello-world\nVersion: 2.0\n"
) -> dict[str, bytes]:
    info = "hello_world-2.0.dist-info"
    return {
        "hello_world/__init__.py": b"",
        f"{info}/METADATA": f"Metadata-Version: 2.1\n{meta}\n".encode(),
        f"{info}/WHEEL": f"Wheel-Version: 1.0\nTag: {tag}\n".encode(),
    }


def _sdist_members(meta: str = "Name: hello-world\nVersion: 2.0\n") -> dict[str, bytes]:
    return {"hello_world-2.0/PKG-INFO": f"Metadata-Version: 2.1\n{meta}\n".encode()}


#: Writes a file in the folder and returns the filename it was uploaded as.
Make = Callable[[Path], str]


def wheel_as(filename: str, **kwargs: str) -> Make:
    def make(folder: Path) -> str:
        make_wheel(folder, "hello-world", "2.0", filename=filename, **kwargs)  # type: ignore[arg-type]
        return filename

    return make


def raw(filename: str, data: bytes) -> Make:
    def make(folder: Path) -> str:
        (folder / filename).write_bytes(data)
        return filename

    return make


def zipped(filename: str, members: dict[str, bytes]) -> Make:
    def make(folder: Path) -> str:
        _zip(folder / filename, members)
        return filename

    return make


def tarred(filename: str, members: dict[str, bytes]) -> Make:
    def make(folder: Path) -> str:
        _tar_gz(folder / filename, members)
        return filename

    return make


def truncated(folder: Path) -> str:
    path = make_wheel(folder, "hello-world", "2.0")
    path.write_bytes(path.read_bytes()[:-200])
    return path.name


WHL = "hello_world-2.0-py3-none-any.whl"
TGZ = "hello_world-2.0.tar.gz"

#: id -> (file maker, declared fields, message after the quoted filename appears)
REFUSALS: dict[str, tuple[Make, dict[str, str], str]] = {
    "extension-exe": (raw("hello_world-2.0.exe", b"MZ"), {}, "Invalid file extension"),
    "extension-egg": (raw("hello_world-2.0-py3.11.egg", b"PK"), {}, "Invalid file extension"),
    "extension-zip": (raw("hello_world-2.0.zip", b"PK"), {}, "Invalid file extension"),
    "bad-wheel-filename": (raw("hello_world-2.0.whl", b"PK"), {}, "Invalid wheel filename"),
    "bad-wheel-version": (
        raw("hello_world-two-py3-none-any.whl", b""),
        {},
        "Invalid wheel filename",
    ),
    "bad-sdist-filename": (raw("helloworld.tar.gz", b""), {}, "Invalid sdist filename"),
    "filetype-mismatch": (wheel_as(WHL), {"declared_type": "sdist"}, "Invalid filetype 'sdist'"),
    "name-mismatch": (
        wheel_as(WHL),
        {"declared_name": "hello-moon"},
        "does not match the project name",
    ),
    "version-mismatch": (wheel_as(WHL), {"declared_version": "2.1"}, "does not match the version"),
    "linux-tag": (
        zipped(
            "hello_world-2.0-cp311-cp311-linux_x86_64.whl",
            _wheel_members("cp311-cp311-linux_x86_64"),
        ),
        {},
        "unsupported platform tag 'linux_x86_64'",
    ),
    "wheel-not-zip": (
        raw(WHL, b"definitely not a zip file" * 10),
        {},
        "is not a valid zip archive",
    ),
    "wheel-truncated": (truncated, {}, "is not a valid zip archive"),
    "wheel-no-metadata": (
        zipped(WHL, {k: v for k, v in _wheel_members().items() if not k.endswith("METADATA")}),
        {},
        "must hold exactly one .dist-info/METADATA, found 0",
    ),
    "wheel-no-WHEEL": (
        zipped(WHL, {k: v for k, v in _wheel_members().items() if not k.endswith("/WHEEL")}),
        {},
        "has no .dist-info/WHEEL file",
    ),
    "wheel-absolute-member": (
        zipped(WHL, {**_wheel_members(), "/etc/passwd": b"root::0:0::/:/bin/sh\n"}),
        {},
        "has a member that escapes its folder: '/etc/passwd'",
    ),
    "wheel-dotdot-member": (
        zipped(WHL, {**_wheel_members(), "hello_world/../../x.pth": b""}),
        {},
        "has a member that escapes its folder",
    ),
    "wheel-backslash-member": (
        zipped(WHL, {**_wheel_members(), "hello_world\\..\\..\\x.pth": b""}),
        {},
        "has a member that escapes its folder",
    ),
    "wheel-metadata-other-name": (
        wheel_as(WHL, metadata_name="hello-moon"),
        {},
        "names hello-moon 2.0, which does not match the filename",
    ),
    "wheel-metadata-other-version": (
        zipped(WHL, _wheel_members(meta="Name: hello-world\nVersion: 2.0.1\n")),
        {},
        "names hello-world 2.0.1, which does not match the filename",
    ),
    "wheel-metadata-no-version": (
        zipped(WHL, _wheel_members(meta="Name: hello-world\n")),
        {},
        "has no Name or Version",
    ),
    "wheel-metadata-bad-version": (
        zipped(WHL, _wheel_members(meta="Name: hello-world\nVersion: two\n")),
        {},
        "has an invalid version 'two'",
    ),
    "sdist-not-gzip": (raw(TGZ, b"PK\x03\x04 not gzip" * 10), {}, "is not a valid .tar.gz archive"),
    "sdist-no-pkg-info": (
        tarred(TGZ, {"hello_world-2.0/setup.py": b""}),
        {},
        "has no hello_world-2.0/PKG-INFO file",
    ),
    "sdist-dotdot-member": (
        tarred(TGZ, {**_sdist_members(), "hello_world-2.0/../../../etc/x": b""}),
        {},
        "has a member that escapes its folder",
    ),
    "sdist-absolute-member": (
        tarred(TGZ, {"/tmp/x": b"", **_sdist_members()}),
        {},
        "has a member that escapes its folder: '/tmp/x'",
    ),
    "sdist-two-top-level-folders": (
        tarred(TGZ, {**_sdist_members(), "other-2.0/PKG-INFO": b"Name: other\nVersion: 2.0\n"}),
        {},
        "must hold exactly one top-level folder, not 2 (hello_world-2.0, other-2.0)",
    ),
    "sdist-pkg-info-only-nested": (
        tarred(TGZ, {"hello_world-2.0/src/PKG-INFO": _sdist_members()["hello_world-2.0/PKG-INFO"]}),
        {},
        "has no hello_world-2.0/PKG-INFO file",
    ),
    "sdist-pkg-info-other-name": (
        tarred(TGZ, _sdist_members(meta="Name: hello-moon\nVersion: 2.0\n")),
        {},
        "names hello-moon 2.0, which does not match the filename",
    ),
}


@pytest.mark.parametrize(("make", "declared", "message"), REFUSALS.values(), ids=list(REFUSALS))
def test_refusal_quotes_the_filename(
    tmp_path: Path, make: Make, declared: dict[str, str], message: str
) -> None:
    filename = make(tmp_path)
    with pytest.raises(UploadRejected) as refused:
        inspect_distribution(tmp_path / filename, filename, **declared)
    assert repr(filename) in refused.value.message
    assert message in refused.value.message
    assert refused.value.status == 400


@pytest.mark.parametrize("prefix", ["../", "sub/", "/abs/", "..\\", "."])
def test_inspect_refuses_a_path_in_the_filename(tmp_path: Path, prefix: str) -> None:
    path = make_sdist(tmp_path, "hello-world", "2.0")
    filename = prefix + path.name
    with pytest.raises(UploadRejected) as refused:
        inspect_distribution(path, filename)
    assert f"Invalid filename {filename!r}" in refused.value.message


def test_invalid_declared_version_quotes_the_version(tmp_path: Path) -> None:
    path = make_wheel(tmp_path, "hello-world", "2.0")
    with pytest.raises(UploadRejected, match="Invalid version 'two': see PEP 440"):
        inspect_distribution(path, path.name, declared_version="two")


@pytest.mark.parametrize(
    "filename",
    [
        "",
        "../x-1.0.tar.gz",
        "a/x-1.0.tar.gz",
        "a\\x-1.0.tar.gz",
        ".x-1.0.tar.gz",
        "-x-1.0.tar.gz",
        "x..y-1.0.tar.gz",
        "x-1.0.tar.gz\x00",
        "x 1.0.tar.gz",
        "h\u0435llo-1.0.tar.gz",
        "x" * 250 + "-1.0.tar.gz",
    ],
    ids=repr,
)
def test_check_filename_refuses_paths_and_odd_characters(filename: str) -> None:
    with pytest.raises(UploadRejected) as refused:
        check_filename(filename)
    assert f"Invalid filename {filename!r}" in refused.value.message


@pytest.mark.parametrize(
    "filename", ["hello_world-2.0-py3-none-any.whl", "x-1.0+local.tar.gz", "A1-1!2.0.tar.gz"]
)
def test_check_filename_accepts_ordinary_names(filename: str) -> None:
    assert check_filename(filename) == filename


def test_a_trailing_newline_never_gets_through(tmp_path: Path) -> None:
    """check_filename's pattern ends in '$' (matches before a final newline), but the
    extension check still refuses the file."""
    filename = "hello_world-2.0.tar.gz\n"
    with pytest.raises(UploadRejected, match="Invalid filename"):
        inspect_distribution(tmp_path / "x", filename)


@pytest.mark.parametrize(
    "folder", ["ruamel.yaml-0.19.1", "Ruamel.Yaml-0.19.1", "./ruamel.yaml-0.19.1"]
)
def test_sdist_folder_may_spell_the_name_as_older_tools_did(tmp_path: Path, folder: str) -> None:
    """ruamel_yaml-0.19.1.tar.gz on PyPI holds ruamel.yaml-0.19.1/: accepted, as PyPI does."""
    filename = "ruamel_yaml-0.19.1.tar.gz"
    meta = b"Metadata-Version: 2.1\nName: ruamel.yaml\nVersion: 0.19.1\n\n"
    _tar_gz(tmp_path / filename, {f"{folder}/PKG-INFO": meta, f"{folder}/setup.py": b""})
    checked = inspect_distribution(tmp_path / filename, filename)
    assert checked.name == "ruamel-yaml" and str(checked.version) == "0.19.1"
    assert checked.packagetype == "sdist"
