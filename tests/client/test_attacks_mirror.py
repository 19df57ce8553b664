"""TUF's attacks by a mirror, CDN or network attacker (no keys), mounted for real.

The victim runs ``endorse install`` (or plain pip / uv through ``endorse
proxy``) with the malicious mirror as its upstream. Each attack is refused
with a message that names the project or file and the check, and nothing is
installed. Each test has its own mirror and a fresh client cache, except where
the attack needs a client that has seen newer metadata (a returning user).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from endorse.metadata.paths import listing_target
from tests.client.conftest import World, endorse_install, installed, proxy, upload
from tests.client.mirror import Mirror
from tests.conftest import pip_install, uv_install

ALPHA = r"alpha-1\.0-py3-none-any\.whl$"


@pytest.fixture
def mirror(world: World) -> Iterator[Mirror]:
    m = Mirror(world.url)
    yield m
    m.stop()


def refused(result_stderr: str, *needles: str) -> None:
    for needle in needles:
        assert needle in result_stderr, result_stderr


def test_arbitrary_package_tampered_file_refused(
    world: World, mirror: Mirror, tmp_path: Path
) -> None:
    """The mirror serves other bytes (same length) for alpha's wheel."""
    good = world.wheels["alpha-1.0-py3-none-any.whl"].read_bytes()
    mirror.serve(ALPHA, good.replace(b"VERSION = '1.0'", b"VERSION = 'XX'"))
    result, report = endorse_install(
        mirror.url, world.root, tmp_path / "c", tmp_path / "t", "alpha"
    )
    assert result.returncode == 3
    assert installed(tmp_path / "t") == {}
    # pip itself prints the proxy's reason, then endorse its summary and hint.
    refused(
        result.stderr,
        "403 Client Error: endorse: refused alpha-1.0-py3-none-any.whl of alpha: length and "
        "hash check failed",
        "altered between the index and you",
    )
    assert report is not None
    assert [(r["project"], r["filename"], r["check"]) for r in report["refused"]] == [
        ("alpha", "alpha-1.0-py3-none-any.whl", "length and hash")
    ]


def test_arbitrary_package_refused_for_plain_uv(
    world: World, mirror: Mirror, tmp_path: Path
) -> None:
    good = world.wheels["alpha-1.0-py3-none-any.whl"].read_bytes()
    mirror.serve(ALPHA, good[:-10] + b"0123456789")
    with proxy(mirror.url, tmp_path / "c", world.root) as server:
        result = uv_install(world.server, tmp_path / "t", "alpha", index_url=server.index_url)
    assert result.returncode != 0 and installed(tmp_path / "t") == {}
    assert (
        "403 endorse: refused alpha-1.0-py3-none-any.whl of alpha: length and hash" in result.stderr
    )


def test_wrong_software_refused(world: World, mirror: Mirror, tmp_path: Path) -> None:
    """A validly signed file of another project (gamma) in place of alpha's."""
    mirror.serve(ALPHA, world.wheels["gamma-1.0-py3-none-any.whl"].read_bytes())
    result, _ = endorse_install(mirror.url, world.root, tmp_path / "c", tmp_path / "t", "alpha")
    assert result.returncode == 3 and installed(tmp_path / "t") == {}
    refused(result.stderr, "refused alpha-1.0-py3-none-any.whl of alpha: length and hash")


def test_endless_data_file_refused(world: World, mirror: Mirror, tmp_path: Path) -> None:
    mirror.tamper(ALPHA, lambda good: good + b"\0" * 3_000_000)
    result, _ = endorse_install(mirror.url, world.root, tmp_path / "c", tmp_path / "t", "alpha")
    assert result.returncode == 3 and installed(tmp_path / "t") == {}
    refused(
        result.stderr, "refused alpha-1.0-py3-none-any.whl of alpha: length limit (endless data)"
    )


def test_endless_data_metadata_refused(world: World, mirror: Mirror, tmp_path: Path) -> None:
    """An oversized timestamp: refused before the installer even starts; plain pip
    through the proxy fails too, and the proxy says why."""
    mirror.tamper(r"/tuf/metadata/timestamp\.json$", lambda good: good + b" " * 100_000)
    result, _ = endorse_install(mirror.url, world.root, tmp_path / "c", tmp_path / "t", "gamma")
    assert result.returncode == 3 and installed(tmp_path / "t") == {}
    refused(result.stderr, "refused the metadata of", "length limit (endless data)")
    with proxy(mirror.url, tmp_path / "c2", world.root) as server:
        pip = pip_install(world.server, tmp_path / "t2", "gamma", index_url=server.index_url)
        answer = httpx.get(server.index_url + "gamma/")
    assert pip.returncode != 0 and installed(tmp_path / "t2") == {}
    assert answer.status_code == 403 and "endless data" in answer.reason_phrase


def test_malicious_mirror_listing_that_adds_a_file_refused(
    world: World, mirror: Mirror, tmp_path: Path
) -> None:
    """The mirror adds beta 9.0 to beta's signed listing (and serves the file)."""

    def add(good: bytes) -> bytes:
        page = json.loads(good)
        extra = dict(page["files"][-1], filename="beta-9.0-py3-none-any.whl")
        extra["url"] = extra["url"].replace("beta-2.0", "beta-9.0")
        page["files"].append(extra)
        page["versions"].append("9.0")
        return json.dumps(page).encode()

    mirror.tamper(r"index\.v1\.json$", add)
    mirror.tamper(r"/simple/beta/$", add)  # the mirror's own Simple API is never read
    result, report = endorse_install(mirror.url, world.root, tmp_path / "c", tmp_path / "t", "beta")
    assert result.returncode == 3 and installed(tmp_path / "t") == {}
    # The page grew: more bytes than the signed length.
    refused(result.stderr, "refused the listing of beta: length limit (endless data) check failed")
    assert report is not None and report["refused"][0]["project"] == "beta"
    assert not any(p.startswith("/simple/") for p in mirror.requests)


def test_malicious_mirror_listing_that_hides_a_file_refused(
    world: World, mirror: Mirror, tmp_path: Path
) -> None:
    """The mirror hides beta 2.0 (to keep the victim on 1.0): refused, not downgraded."""

    def hide(good: bytes) -> bytes:
        page = json.loads(good)
        page["files"] = [f for f in page["files"] if "2.0" not in f["filename"]]
        return json.dumps(page).encode()

    mirror.tamper(r"/beta/[0-9a-f]{64}\.index\.v1\.json$", hide)
    with proxy(mirror.url, tmp_path / "c", world.root) as server:
        pip = pip_install(world.server, tmp_path / "t", "beta", index_url=server.index_url)
        assert pip.returncode != 0 and installed(tmp_path / "t") == {}
        refusals = server.app.activity.refusals
    assert [(r.project, r.check) for r in refusals] == [("beta", "length and hash")]


def test_claimed_listing_cannot_be_changed_by_a_mirror(
    world: World, mirror: Mirror, tmp_path: Path
) -> None:
    """A claimed project's listing is built from its developer-signed role; a mirror
    that edits the role breaks the developers' signature."""

    def add(good: bytes) -> bytes:
        md = json.loads(good)
        targets = md["signed"]["targets"]
        path, entry = next(iter(targets.items()))
        targets[path.replace("1.0", "9.0")] = entry
        return json.dumps(md).encode()

    mirror.tamper(r"/tuf/metadata/\d+\.p-signed-pkg\.json$", add)
    result, _ = endorse_install(
        mirror.url, world.root, tmp_path / "c", tmp_path / "t", "signed-pkg"
    )
    assert result.returncode == 3 and installed(tmp_path / "t") == {}
    refused(result.stderr, "refused the listing of signed-pkg: signature threshold check failed")


def test_mix_and_match_refused(world: World, mirror: Mirror, tmp_path: Path) -> None:
    """The newest timestamp and snapshot, with the bins of an earlier state."""
    snapshot_version = json.loads(mirror.fetch("/tuf/metadata/timestamp.json"))["signed"]["meta"][
        "snapshot.json"
    ]["version"]
    snapshot = json.loads(mirror.fetch(f"/tuf/metadata/{snapshot_version}.snapshot.json"))
    old = {
        role.removesuffix(".json"): mirror.fetch(f"/tuf/metadata/{meta['version']}.{role}")
        for role, meta in snapshot["signed"]["meta"].items()
        if role.startswith("bin-")
    }
    upload(world, "mixer", "1.0")
    world.server.wait_published()
    for role, data in old.items():
        mirror.serve(rf"/tuf/metadata/\d+\.{role}\.json$", data)
    result, _ = endorse_install(mirror.url, world.root, tmp_path / "c", tmp_path / "t", "mixer")
    assert result.returncode == 3 and installed(tmp_path / "t") == {}
    refused(result.stderr, "refused the listing of mixer: version (rollback) check failed")
    assert listing_target("mixer", "json")  # type: ignore[arg-type]


def test_rollback_replayed_old_timestamp_refused(
    world: World, mirror: Mirror, tmp_path: Path
) -> None:
    """A returning user has seen a newer timestamp; the mirror replays an old one
    (and with it an old snapshot, without the newest release)."""
    old_timestamp = mirror.fetch("/tuf/metadata/timestamp.json")
    upload(world, "rolling", "1.0")
    world.server.wait_published()
    cache = tmp_path / "c"
    first, _ = endorse_install(mirror.url, world.root, cache, tmp_path / "t1", "rolling")
    assert first.returncode == 0, first.stderr
    mirror.serve(r"/tuf/metadata/timestamp\.json$", old_timestamp)
    result, _ = endorse_install(mirror.url, world.root, cache, tmp_path / "t2", "rolling")
    assert result.returncode == 3 and installed(tmp_path / "t2") == {}
    refused(
        result.stderr, "version (rollback) check failed", "older version than one you already trust"
    )
