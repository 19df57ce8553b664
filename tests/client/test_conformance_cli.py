"""``python -m endorse.client.conformance``: the TUF conformance suite's client protocol.

The suite itself is a public repository, not a registry package, so CI does not
run it (docs/security-model.md has the last local run); these tests keep the
entry point working against a real endorse index.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

from endorse.metadata.paths import file_target
from tests.client.conftest import World


def conformance(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "endorse.client.conformance", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_init_refresh_download_against_an_endorse_index(world: World, tmp_path: Path) -> None:
    metadata, targets = tmp_path / "metadata", tmp_path / "targets"
    metadata.mkdir()
    targets.mkdir()
    common = ("--metadata-dir", str(metadata), "--metadata-url", f"{world.url}/tuf/metadata")
    assert conformance("--metadata-dir", str(metadata), "init", str(world.root)).returncode == 0
    assert (metadata / "root.json").read_bytes() == world.root.read_bytes()
    refreshed = conformance(*common, "refresh")
    assert refreshed.returncode == 0, refreshed.stderr
    assert (metadata / "timestamp.json").exists() and (metadata / "targets.json").exists()

    wanted = {
        file_target("signed-pkg", "signed_pkg-2.0-py3-none-any.whl"): "signed_pkg-2.0",  # type: ignore[arg-type]
        file_target("alpha", "alpha-1.0-py3-none-any.whl"): "alpha-1.0",  # type: ignore[arg-type]
    }
    names = [arg for path in wanted for arg in ("--target-name", path)]
    into = ("--target-base-url", f"{world.url}/tuf/targets", "--target-dir", str(targets))
    result = conformance(*common, *names, *into, "download")
    assert result.returncode == 0, result.stderr
    for path, stem in wanted.items():
        got = (targets / quote(path, safe="")).read_bytes()
        assert got == world.wheels[f"{stem}-py3-none-any.whl"].read_bytes()
    # Delegated roles are kept under ngclient's names, found through the layout.
    assert {"claimed.json", "p-signed-pkg.json", "unclaimed.json"} <= {
        p.name for p in metadata.iterdir()
    }

    missing = file_target("alpha", "alpha-9.9-py3-none-any.whl")  # type: ignore[arg-type]
    absent = conformance(*common, "--target-name", missing, *into, "download")
    assert absent.returncode == 1 and "is not a target of this repository" in absent.stderr

    shutil.rmtree(metadata)
    metadata.mkdir()
    untrusted = conformance(*common, "refresh")  # no trusted root: nothing to verify with
    assert untrusted.returncode == 1
