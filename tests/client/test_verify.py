"""``endorse verify``: files and requirements files, checked without installing."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tests.client.conftest import World, endorse


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_verify_files(world: World, tmp_path: Path) -> None:
    good = world.wheels["signed_pkg-2.0-py3-none-any.whl"]
    tampered = tmp_path / "tampered" / "alpha-1.0-py3-none-any.whl"
    tampered.parent.mkdir()
    tampered.write_bytes(world.wheels["alpha-1.0-py3-none-any.whl"].read_bytes() + b"\0")
    unknown = tmp_path / "unknown" / "alpha-7.0-py3-none-any.whl"
    unknown.parent.mkdir()
    unknown.write_bytes(b"not signed")
    ok = endorse(
        "verify", "--index", world.url, "--root", str(world.root), "--json",
        str(good), str(world.wheels["delta-2.0-py3-none-any.whl"]), cache=tmp_path / "c",
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    report = json.loads(ok.stdout)
    assert [(c["filename"], c["trust"], c["ok"]) for c in report["checks"]] == [
        ("signed_pkg-2.0-py3-none-any.whl", 3, True),
        ("delta-2.0-py3-none-any.whl", 2, True),
    ]
    assert "3 developer-signed" in ok.stderr

    bad = endorse(
        "verify", "--index", world.url, "--root", str(world.root), "--json",
        str(tampered), str(unknown), cache=tmp_path / "c",
    )  # fmt: skip
    assert bad.returncode == 3
    checks = json.loads(bad.stdout)["checks"]
    assert "differs from the file the index signed" in checks[0]["error"]
    assert "is not signed by the index or its developers" in checks[1]["error"]


def test_verify_requirements_with_hashes_and_policy(world: World, tmp_path: Path) -> None:
    alpha = world.wheels["alpha-1.0-py3-none-any.whl"]
    signed = world.wheels["signed_pkg-2.0-py3-none-any.whl"]
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(
        f"alpha==1.0 \\\n    --hash=sha256:{sha256(alpha)}\n"
        f"signed-pkg==2.0 --hash=sha256:{sha256(signed)}  # claimed\n"
        "beta==2.0\n"
    )
    ok = endorse(
        "verify", "--index", world.url, "--root", str(world.root), "--json",
        "-r", str(requirements), cache=tmp_path / "c",
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    checks = json.loads(ok.stdout)["checks"]
    assert [(c["filename"], c["trust"]) for c in checks] == [
        ("alpha-1.0-py3-none-any.whl", 1),
        ("signed_pkg-2.0-py3-none-any.whl", 3),
        ("beta-2.0-py3-none-any.whl", 1),
    ]
    assert "pip would accept any of these files" in checks[2]["note"]

    tampered = tmp_path / "tampered.txt"
    tampered.write_text(f"alpha==1.0 --hash=sha256:{'0' * 64}\ngamma>=1\n")
    bad = endorse(
        "verify", "--index", world.url, "--root", str(world.root), "--json",
        "--min-trust", "3", "-r", str(requirements), "-r", str(tampered), cache=tmp_path / "c",
    )  # fmt: skip
    assert bad.returncode == 3
    errors = [c.get("error", "") for c in json.loads(bad.stdout)["checks"]]
    assert "[rule: --min-trust 3]" in errors[0]  # alpha: verified, below policy
    assert errors[1] == ""  # signed-pkg: developer-signed
    assert "is not the hash of any signed file of alpha==1.0" in errors[3]
    assert "is not pinned to one version" in errors[4]
