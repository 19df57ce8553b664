"""``run_install`` starts the installer while endorse verifies the index.

The installer here is a stand-in for pip (given as ``python``: run_install
calls ``PYTHON -m pip install --isolated --index-url URL ARGS``) that records
when it started and fetches one listing, so the tests can see the order.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from endorse.client import ClientCache, ProxyApp, RootPin, Upstream, VerificationFailed
from endorse.client.install import run_install
from endorse.client.resolver import VerifiedIndex
from tests.client.conftest import World
from tests.conftest import wait_until

FAKE_PIP = """#!{python}
import sys, time, urllib.request
from pathlib import Path
out = Path({out!r})
(out / "started").write_text(str(time.time()))
index_url = sys.argv[sys.argv.index("--index-url") + 1]
body = urllib.request.urlopen(index_url + "gamma/", timeout=60).read()
(out / "answered").write_text(str(time.time()))
(out / "listing").write_bytes(body)
"""


def fake_installer(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "python"
    script.write_text(FAKE_PIP.format(python=sys.executable, out=str(folder)))
    script.chmod(0o755)
    return script


def test_the_installer_starts_first_and_is_answered_only_once_verified(
    world: World, tmp_path: Path
) -> None:
    out = tmp_path / "installer"
    opened: list[float] = []

    def open_app() -> ProxyApp:
        # The installer runs before anything is verified.
        wait_until((out / "started").exists, poll=0.01, what="the installer to start")
        time.sleep(0.3)  # and its request waits for the proxy meanwhile
        upstream = Upstream.parse(world.url)
        index = VerifiedIndex(
            upstream, ClientCache.for_upstream(upstream, tmp_path / "c"), RootPin(world.root)
        )
        index.session()
        opened.append(time.time())
        return ProxyApp(index)

    result = run_install(open_app, "pip", [], python=str(fake_installer(out)))

    assert result.returncode == 0
    assert float((out / "started").read_text()) < opened[0]
    assert float((out / "answered").read_text()) >= opened[0]
    listing = (out / "listing").read_text()
    assert "gamma-1.0-py3-none-any.whl" in listing
    assert result.upstream == world.url and result.metadata_bytes > 0


def test_a_refused_index_stops_the_installer_before_it_gets_anything(
    world: World, tmp_path: Path
) -> None:
    out = tmp_path / "installer"

    def open_app() -> ProxyApp:
        wait_until((out / "started").exists, poll=0.01, what="the installer to start")
        raise VerificationFailed("the timestamp expired", check="expiry")

    started = time.monotonic()
    with pytest.raises(VerificationFailed, match="timestamp expired"):
        run_install(open_app, "pip", [], python=str(fake_installer(out)))
    assert time.monotonic() - started < 30
    time.sleep(0.2)  # a survivor would write its answer now
    assert not (out / "answered").exists()
    assert json.dumps(sorted(p.name for p in out.iterdir())) == '["python", "started"]'
