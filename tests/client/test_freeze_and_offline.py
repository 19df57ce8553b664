"""Indefinite freeze, and working offline from the cache only until expiry.

The freeze index signs timestamps valid for a few seconds (its publisher
re-signs them at half their life), so expiry can be reached in a test.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.client.conftest import World, endorse_install, installed, pin_root, start_index
from tests.client.mirror import Mirror
from tests.conftest import IndexServer, twine_upload
from tests.packages import make_wheel

TIMESTAMP_SECONDS = 4.0


@pytest.fixture(scope="module")
def short_lived(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[IndexServer, Path]]:
    folder = tmp_path_factory.mktemp("freeze")
    server = start_index(folder, {"ENDORSE_EXPIRY_TIMESTAMP_DAYS": str(TIMESTAMP_SECONDS / 86400)})
    try:
        result = twine_upload(server, [make_wheel(folder / "dist", "frozen", "1.0")])
        assert result.returncode == 0, result.stdout + result.stderr
        server.wait_published()
        yield server, pin_root(server, folder / "pinned")
    finally:
        server.stop()


def wait_until_expired(timestamp: bytes) -> None:
    expires = datetime.fromisoformat(
        json.loads(timestamp)["signed"]["expires"].replace("Z", "+00:00")
    )
    time.sleep(max(0.0, (expires - datetime.now(UTC)).total_seconds()) + 1.1)


def test_indefinite_freeze_refused(short_lived: tuple[IndexServer, Path], tmp_path: Path) -> None:
    """The mirror keeps serving one validly signed timestamp after it expires."""
    server, root = short_lived
    mirror = Mirror(server.url)
    try:
        frozen = mirror.fetch("/tuf/metadata/timestamp.json")
        mirror.serve(r"/tuf/metadata/timestamp\.json$", frozen)
        cache = tmp_path / "c"
        ok, _ = endorse_install(mirror.url, root, cache, tmp_path / "t0", "frozen")
        assert ok.returncode == 0, ok.stderr  # not expired yet
        wait_until_expired(frozen)
        for folder in (cache, tmp_path / "new"):  # a returning user, and a new one
            result, _ = endorse_install(
                mirror.url, root, folder, tmp_path / f"t-{folder.name}", "frozen"
            )
            assert result.returncode == 3 and installed(tmp_path / f"t-{folder.name}") == {}
            assert "expiry check failed" in result.stderr and "freeze" in result.stderr
    finally:
        mirror.stop()


def test_offline_refused_once_the_cached_metadata_expires(
    short_lived: tuple[IndexServer, Path], tmp_path: Path
) -> None:
    server, root = short_lived
    mirror = Mirror(server.url)
    cache = tmp_path / "c"
    ok, _ = endorse_install(mirror.url, root, cache, tmp_path / "t0", "frozen")
    assert ok.returncode == 0, ok.stderr
    mirror.stop()
    wait_until_expired(next(cache.glob("*/metadata/timestamp.json")).read_bytes())
    result, _ = endorse_install(mirror.url, root, cache, tmp_path / "t1", "frozen")
    assert result.returncode == 3 and installed(tmp_path / "t1") == {}
    assert "the upstream is unreachable, and the expiry check failed" in result.stderr


def test_offline_from_the_cache_while_it_is_valid(world: World, tmp_path: Path) -> None:
    mirror = Mirror(world.url)
    cache = tmp_path / "c"
    ok, _ = endorse_install(mirror.url, world.root, cache, tmp_path / "t0", "alpha")
    assert ok.returncode == 0, ok.stderr
    mirror.stop()
    result, report = endorse_install(mirror.url, world.root, cache, tmp_path / "t1", "alpha")
    assert result.returncode == 0, result.stderr
    assert "OFFLINE, from the cache" in result.stderr
    assert installed(tmp_path / "t1") == {"alpha": "1.0", "beta": "2.0"}
    assert report is not None and report["metadata"]["offline"] is True
    assert report["bytes"]["metadata"] == 0
    never, _ = endorse_install(mirror.url, world.root, cache, tmp_path / "t2", "gamma")
    assert never.returncode != 0 and installed(tmp_path / "t2") == {}
    assert (
        "never fetched while online" in never.stderr or "not in the verified cache" in never.stderr
    )


@pytest.mark.parametrize("status", [404, 403, 500])
def test_upstream_answering_an_error_for_timestamp_is_not_offline(
    world: World, tmp_path: Path, status: int
) -> None:
    """A reachable mirror that withholds timestamp.json must not hold a returning
    client on its cached metadata: only no answer at all (or a gateway's 502, 503,
    504) means offline."""
    mirror = Mirror(world.url)
    try:
        cache = tmp_path / "c"
        ok, _ = endorse_install(mirror.url, world.root, cache, tmp_path / "t0", "gamma")
        assert ok.returncode == 0, ok.stderr
        mirror.fail(r"/tuf/metadata/timestamp\.json$", status)
        result, _ = endorse_install(mirror.url, world.root, cache, tmp_path / "t1", "gamma")
        assert result.returncode == 1 and installed(tmp_path / "t1") == {}
        assert "OFFLINE" not in result.stderr
        assert f"{status}" in result.stderr and "does not fall back to its cache" in result.stderr
        mirror.honest()
        mirror.fail(r"/tuf/metadata/timestamp\.json$", 503)
        unavailable, _ = endorse_install(mirror.url, world.root, cache, tmp_path / "t2", "gamma")
        assert unavailable.returncode == 0, unavailable.stderr
        assert "OFFLINE, from the cache" in unavailable.stderr
    finally:
        mirror.stop()
