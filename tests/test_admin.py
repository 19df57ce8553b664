"""Administrator commands: yank, remove, members, bulk import (back-signing).

The commands run in-process against an in-process index where no real
installer or twine is needed (the fast tier).
"""

from __future__ import annotations

import io
import re
import tarfile
import zipfile
from pathlib import Path

from click.testing import CliRunner

from endorse.cli import main
from endorse.metadata.paths import file_target
from tests.conftest import FAST_ENV, IndexServer, pip_install, twine_upload
from tests.inprocess import InProcessIndex
from tests.packages import make_sdist, make_wheel


def test_yank_is_signed_and_respected_by_pip(server: IndexServer, tmp_path: Path) -> None:
    """A yank changes the signed listing (PEP 592); pip skips the yanked release."""
    wheels = [make_wheel(tmp_path / "w", "yankable", v) for v in ("1.0", "2.0")]
    assert twine_upload(server, wheels).returncode == 0
    server.admin("yank", "yankable", "2.0", "--reason", "broken build")
    server.wait_published()
    html = server.get("/simple/yankable/").text
    assert 'data-yanked="broken build"' in html
    page = server.get(
        "/simple/yankable/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}
    ).json()
    assert {f["filename"]: f["yanked"] for f in page["files"]} == {
        wheels[0].name: False,
        wheels[1].name: "broken build",
    }
    result = pip_install(server, tmp_path / "t", "yankable")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "t" / "yankable-1.0.dist-info").is_dir()

    updater = server.updater(tmp_path / "client")
    updater.refresh()
    listing = updater.get_targetinfo(file_target("yankable", "index.html"))  # type: ignore[arg-type]
    assert listing is not None
    assert Path(updater.download_target(listing)).read_text() == html

    server.admin("yank", "yankable", "2.0", "--undo")
    server.wait_published()
    assert "data-yanked" not in server.get("/simple/yankable/").text


def test_removed_file_leaves_listing_and_metadata_for_ever(
    server: IndexServer, tmp_path: Path
) -> None:
    wheel = make_wheel(tmp_path / "w", "removable", "1.0")
    sdist = make_sdist(tmp_path / "w", "removable", "1.0")
    assert twine_upload(server, [wheel, sdist]).returncode == 0
    server.admin("remove", "removable", "--file", wheel.name, "--yes")
    server.wait_published()
    assert wheel.name not in server.get("/simple/removable/").text
    assert sdist.name in server.get("/simple/removable/").text
    assert server.get(f"/tuf/targets/{file_target('removable', wheel.name)}").status_code == 404  # type: ignore[arg-type]
    updater = server.updater(tmp_path / "client")
    updater.refresh()
    assert updater.get_targetinfo(file_target("removable", wheel.name)) is None  # type: ignore[arg-type]
    again = twine_upload(server, [wheel])
    assert again.returncode != 0
    assert "File already exists" in again.stdout + again.stderr


def test_maintainer_added_by_owner_can_upload(tmp_path: Path) -> None:
    server = InProcessIndex.start(tmp_path / "index", in_memory=False)
    try:
        assert server.upload(make_wheel(tmp_path / "w", "shared-pkg", "1.0")).status_code == 200
        server.admin("user", "add", "dora", "--password-stdin", input="dora-long-password\n")
        token = server.admin("token", "create", "dora", "--project", "shared-pkg").stdout.strip()
        refused = server.upload(make_wheel(tmp_path / "w", "shared-pkg", "1.1"), token=token)
        assert refused.status_code == 403
        assert "not an owner or maintainer" in refused.text
        server.admin("project", "add-member", "shared-pkg", "dora")
        accepted = server.upload(make_wheel(tmp_path / "w", "shared-pkg", "1.2"), token=token)
        assert accepted.status_code == 200, accepted.text
        members = server.admin("project", "members", "shared-pkg").stdout
        assert re.search(r"dora\s+maintainer", members)
        updater = server.updater(tmp_path / "client")
        updater.refresh()
        info = updater.get_targetinfo(file_target("shared-pkg", "shared_pkg-1.2-py3-none-any.whl"))  # type: ignore[arg-type]
        assert info is not None
        # A project-scoped token earns trust level 2; the demo (unscoped) token level 1.
        assert info.custom == {"trust": 2}
        assert "index-signed, strong upload auth" in server.get("/project/shared-pkg/").text
    finally:
        server.stop()


def test_bulk_import_back_signs_a_folder(tmp_path: Path) -> None:
    server = InProcessIndex.start(tmp_path / "index", in_memory=False)
    try:
        folder = tmp_path / "mirror"
        files = [make_wheel(folder / f"p{i}", f"imported-{i % 7}", f"0.{i}") for i in range(30)]
        files.append(make_sdist(folder, "imported-0", "9.0"))
        (folder / "not-a-dist.txt").write_text("ignored")
        (folder / "broken-1.0-py3-none-any.whl").write_bytes(b"not a zip")
        result = server.admin("import", str(folder))
        assert f"imported 31 of 33 file(s) under {folder}: 0 already on the index, 2 skipped" in (
            result.stdout
        ), result.stdout + result.stderr
        assert "skipped broken-1.0-py3-none-any.whl" in result.stderr
        assert "skipped not-a-dist.txt: 'not-a-dist.txt' is not a distribution format" in (
            result.stderr
        )
        updater = server.updater(tmp_path / "client")
        updater.refresh()
        for path in files:
            name = path.name.split("-")[0].replace("_", "-")
            info = updater.get_targetinfo(file_target(name, path.name))  # type: ignore[arg-type]
            assert info is not None, path.name
            assert Path(updater.download_target(info)).read_bytes() == path.read_bytes()
        second = server.admin("import", str(folder))
        assert "imported 0 of 33 file(s)" in second.stdout
        assert "31 already on the index, 2 skipped" in second.stdout
    finally:
        server.stop()


def test_import_takes_every_format_pypi_serves_and_says_who_owns_what(tmp_path: Path) -> None:
    """A mirror of PyPI holds historic sdists (.zip, .tar.bz2), eggs and Windows
    installers: each is signed as a target, or listed with the reason it is not;
    new projects without --owner are named with the command that gives them one
    (issue 12)."""
    server = InProcessIndex.start(tmp_path / "index", in_memory=False)
    try:
        folder = tmp_path / "mirror"
        made = historic_files(folder)
        (folder / "README").write_text("a mirror")
        (folder / "oldver-1.0-beta.zip").write_bytes(zip_bytes({"oldver-1.0-beta/PKG-INFO": b""}))
        result = server.admin("import", str(folder))
        assert f"imported {len(made)} of {len(made) + 2} file(s)" in result.stdout, result.stderr
        assert "skipped README: 'README' is not a distribution format" in result.stderr
        assert (
            "skipped oldver-1.0-beta.zip: 'oldver-1.0-beta.zip' has the version 'beta'"
            in (result.stderr)
            or "which is not a PEP 440 version" in result.stderr
        )
        assert "new project(s), without an owner" in result.stdout
        assert "endorse admin project add-member NAME USER --role owner" in result.stdout
        updater = server.updater(tmp_path / "client")
        updater.refresh()
        for name, path in made.items():
            info = updater.get_targetinfo(file_target(name, path.name))  # type: ignore[arg-type]
            assert info is not None, path.name
            assert Path(updater.download_target(info)).read_bytes() == path.read_bytes()
        refused = server.upload(make_wheel(tmp_path / "w", "legacy-zip", "2.0"))
        assert refused.status_code == 403
        assert "legacy-zip has no owner yet (it was imported)" in refused.text
        assert "endorse admin project add-member legacy-zip demo --role owner" in refused.text

        owned = tmp_path / "mirror2"
        make_sdist(owned, "owned-project", "1.0")
        server.admin("user", "add", "alice", "--password-stdin", input="alice-long-password\n")
        second = server.admin("import", str(owned), "--owner", "alice")
        assert "1 new project(s), owned by alice: owned-project" in second.stdout
        assert re.search(
            r"alice\s+owner", server.admin("project", "members", "owned-project").stdout
        )
    finally:
        server.stop()


def test_admin_commands_refuse_a_folder_with_no_index(tmp_path: Path) -> None:
    """`endorse admin import` (or any command on an index) in an empty folder leaves
    it empty and says where an index comes from."""
    empty = tmp_path / "empty"
    empty.mkdir()
    (tmp_path / "mirror").mkdir()
    result = CliRunner(env=FAST_ENV).invoke(
        main, ["admin", "import", str(tmp_path / "mirror"), "--data-dir", str(empty)]
    )
    assert result.exit_code == 2, result.output
    message = "".join(result.stderr.split())  # rich wraps long paths
    assert f"noindexin{empty}" in message and "endorseserve" in message
    assert list(empty.iterdir()) == []


def test_members_of_a_project_that_does_not_exist(tmp_path: Path) -> None:
    server = InProcessIndex.start(tmp_path / "index", in_memory=False)
    try:
        result = server.admin("project", "members", "nonexistent", check=False)
        assert result.returncode == 1 and "no project 'nonexistent'" in result.stderr
    finally:
        server.stop()


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def pkg_info(name: str, version: str) -> bytes:
    return f"Metadata-Version: 1.0\nName: {name}\nVersion: {version}\n\n".encode()


def historic_files(folder: Path) -> dict[str, Path]:
    """One file of each historic kind, as old setuptools/distutils wrote them."""
    folder.mkdir(parents=True, exist_ok=True)
    made: dict[str, Path] = {}

    def put(project: str, filename: str, data: bytes) -> None:
        path = folder / filename
        path.write_bytes(data)
        made[project] = path

    put(
        "legacy-zip",
        "Legacy-Zip-1.0.zip",
        zip_bytes({"Legacy-Zip-1.0/PKG-INFO": pkg_info("Legacy-Zip", "1.0")}),
    )
    tar = io.BytesIO()
    with tarfile.open(fileobj=tar, mode="w:bz2") as archive:
        data = pkg_info("old-bz2", "0.3")
        info = tarfile.TarInfo("old-bz2-0.3/PKG-INFO")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    put("old-bz2", "old-bz2-0.3.tar.bz2", tar.getvalue())
    put(
        "an-egg",
        "an_egg-2.1-py2.7.egg",
        zip_bytes({"EGG-INFO/PKG-INFO": pkg_info("an-egg", "2.1"), "an_egg/__init__.py": b""}),
    )
    put(
        "win-tool",
        "win_tool-1.2.win32-py2.7.exe",
        b"MZ fake stub" + zip_bytes({"PURELIB/win_tool.py": b""}),
    )
    put("win-msi", "win_msi-3.0.win-amd64-py3.6.msi", b"\xd0\xcf\x11\xe0 an OLE file")
    return made
