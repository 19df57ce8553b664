"""Administrator commands: yank, remove, members, bulk import (back-signing).

The commands run in-process against an in-process index where no real
installer or twine is needed (the fast tier).
"""

from __future__ import annotations

import re
from pathlib import Path

from endorse.metadata.paths import file_target
from tests.conftest import IndexServer, pip_install, twine_upload
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
        assert "imported 31 file(s)" in result.stdout, result.stdout + result.stderr
        assert "skipped broken-1.0-py3-none-any.whl" in result.stderr
        updater = server.updater(tmp_path / "client")
        updater.refresh()
        for path in files:
            name = path.name.split("-")[0].replace("_", "-")
            info = updater.get_targetinfo(file_target(name, path.name))  # type: ignore[arg-type]
            assert info is not None, path.name
            assert Path(updater.download_target(info)).read_bytes() == path.read_bytes()
        second = server.admin("import", str(folder))
        assert "imported 0 file(s)" in second.stdout
    finally:
        server.stop()
