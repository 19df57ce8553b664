"""End to end: real twine uploads, real pip and uv installs, an unmodified ngclient
(in-process for the check that needs no installer)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tuf.api.exceptions import DownloadLengthMismatchError, LengthOrHashMismatchError

from endorse.metadata.paths import core_metadata_target, file_target, listing_target
from endorse.metadata.storage_keys import target_key
from tests.conftest import IndexServer, pip_install, tool_env, twine_upload, uv_install
from tests.inprocess import InProcessIndex
from tests.packages import make_sdist, make_wheel

PROJECT_SOURCE = {
    "pyproject.toml": (
        '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "endorse-demo-pkg"\nversion = "1.2.0"\nrequires-python = ">=3.8"\n'
        'dependencies = ["endorse-dep-a>=1.0"]\n'
    ),
    "src/endorse_demo_pkg/__init__.py": "GREETING = 'signed hello'\n",
}


def build_real_project(folder: Path) -> list[Path]:
    """Build a wheel and an sdist with the real `build` frontend (setuptools backend)."""
    for rel, text in PROJECT_SOURCE.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--no-isolation",
            "--outdir",
            str(folder / "dist"),
            str(folder),
        ],
        check=True,
        capture_output=True,
        env=tool_env(),
    )
    return sorted((folder / "dist").iterdir())


def run_import(target: Path, code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**tool_env(), "PYTHONPATH": str(target)},
        check=True,
    )
    return result.stdout.strip()


def test_twine_upload_then_pip_and_uv_install(server: IndexServer, tmp_path: Path) -> None:
    """A package built at test time goes up with twine and comes down with pip and uv."""
    dists = build_real_project(tmp_path / "src")
    deps = [
        make_wheel(tmp_path / "deps", "endorse-dep-a", "1.0", deps=["endorse-dep-b"]),
        make_wheel(tmp_path / "deps", "endorse-dep-b", "2.0"),
    ]
    upload = twine_upload(server, [*deps, *dists])
    assert upload.returncode == 0, upload.stdout + upload.stderr

    listing = server.get("/simple/endorse-demo-pkg/").text
    for dist in dists:
        assert dist.name in listing

    pip_target = tmp_path / "pip-target"
    result = pip_install(server, pip_target, "endorse-demo-pkg")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (
        run_import(
            pip_target,
            "import endorse_demo_pkg, endorse_dep_a, endorse_dep_b;"
            "print(endorse_demo_pkg.GREETING, endorse_dep_b.VERSION)",
        )
        == "signed hello 2.0"
    )

    uv_target = tmp_path / "uv-target"
    result = uv_install(server, uv_target, "endorse-demo-pkg")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (
        run_import(uv_target, "import endorse_demo_pkg; print(endorse_demo_pkg.GREETING)")
        == "signed hello"
    )


@pytest.fixture
def index(tmp_path: Path) -> Iterator[InProcessIndex]:
    """An in-process index whose store is a folder (the test alters it)."""
    started = InProcessIndex.start(tmp_path / "index", in_memory=False)
    yield started
    started.stop()


def test_ngclient_verifies_every_file_and_rejects_tampering(
    index: InProcessIndex, tmp_path: Path
) -> None:
    """An unmodified ngclient finds and verifies every file, core metadata and listing;
    a file or a listing altered in storage is refused."""
    files = [
        make_wheel(tmp_path / "d", "verified-pkg", "1.0"),
        make_wheel(tmp_path / "d", "verified-pkg", "1.1", requires_python=">=3.9"),
        make_sdist(tmp_path / "d", "verified-pkg", "1.1"),
        make_wheel(tmp_path / "d", "other-pkg", "0.1"),
    ]
    for dist in files:
        assert index.upload(dist).status_code == 200

    updater = index.updater(tmp_path / "client")
    updater.refresh()
    name = "verified-pkg"
    for dist in files[:3]:
        info = updater.get_targetinfo(file_target(name, dist.name))  # type: ignore[arg-type]
        assert info is not None, dist.name
        assert info.length == dist.stat().st_size
        assert info.custom == {"trust": 1}
        assert Path(updater.download_target(info)).read_bytes() == dist.read_bytes()
        if dist.name.endswith(".whl"):
            core = updater.get_targetinfo(core_metadata_target(name, dist.name))  # type: ignore[arg-type]
            assert core is not None
            assert b"Name: verified-pkg" in Path(updater.download_target(core)).read_bytes()
    for fmt in ("html", "json"):
        info = updater.get_targetinfo(listing_target(name, fmt))  # type: ignore[arg-type]
        assert info is not None
        served = index.get(
            f"/simple/{name}/",
            headers={
                "Accept": "application/vnd.pypi.simple.v1+json" if fmt == "json" else "text/html"
            },
        ).content
        # What pip is shown is exactly the signed listing.
        assert Path(updater.download_target(info)).read_bytes() == served

    store = index.data_dir / "store"
    wheel = files[0]
    info = updater.get_targetinfo(file_target(name, wheel.name))  # type: ignore[arg-type]
    assert info is not None
    stored = store / target_key(info.path, info.hashes["sha256"])
    stored.write_bytes(stored.read_bytes().replace(b"VERSION", b"EVILXXX"))
    fresh = index.updater(tmp_path / "client2")
    fresh.refresh()
    with pytest.raises(LengthOrHashMismatchError):
        fresh.download_target(info)

    listing = updater.get_targetinfo(listing_target(name, "html"))  # type: ignore[arg-type]
    assert listing is not None
    stored_listing = store / target_key(listing.path, listing.hashes["sha256"])
    stored_listing.write_bytes(
        stored_listing.read_bytes().replace(b"</body>", b'<a href="x">evil</a></body>')
    )
    # Longer than signed: the download stops at the signed length.
    with pytest.raises(DownloadLengthMismatchError):
        fresh.download_target(listing)


def test_sdist_whose_folder_spells_the_name_the_old_way(
    server: IndexServer, tmp_path: Path
) -> None:
    """ruamel_yaml-0.19.1.tar.gz as on PyPI (its folder is ruamel.yaml-0.19.1/): real twine
    uploads it, real pip downloads exactly those bytes (issue 12)."""
    import hashlib
    import io
    import tarfile

    sdist = tmp_path / "dist" / "ruamel_yaml-0.19.1.tar.gz"
    sdist.parent.mkdir()
    pkg_info = b"Metadata-Version: 2.1\nName: ruamel.yaml\nVersion: 0.19.1\n\n"
    setup = b"from setuptools import setup\nsetup(name='ruamel.yaml', version='0.19.1')\n"
    members = {"ruamel.yaml-0.19.1/PKG-INFO": pkg_info, "ruamel.yaml-0.19.1/setup.py": setup}
    with tarfile.open(sdist, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    uploaded = twine_upload(server, [sdist])
    assert uploaded.returncode == 0, uploaded.stdout + uploaded.stderr
    server.wait_published()
    dest = tmp_path / "downloaded"
    fetched = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--isolated", "--no-cache-dir", "--no-deps",
         "--no-binary", ":all:", "--no-build-isolation", "--index-url", f"{server.url}/simple/",
         "--dest", str(dest), "ruamel.yaml==0.19.1"],
        capture_output=True, text=True, env=tool_env(), timeout=300,
    )  # fmt: skip
    assert (dest / sdist.name).exists(), fetched.stdout + fetched.stderr
    assert (
        hashlib.sha256((dest / sdist.name).read_bytes()).digest()
        == hashlib.sha256(sdist.read_bytes()).digest()
    )
