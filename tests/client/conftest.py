"""Fixtures of the verifying-client tests: a published world, proxies, installers.

The ``world`` index (one per test session, shared by the modules whose attacks
do not change the index) holds:

=============  =====================  ==========================================
project        trust                  files
=============  =====================  ==========================================
alpha          1 (password)           1.0, depends on beta>=1
beta           1                      1.0, 2.0
gamma          1                      1.0
delta          1, then 2              1.0 (password), 2.0 (project-scoped token)
signed-pkg     3, claimed             1.0 (vouched for), 2.0 (signed; depends on alpha)
fresh-pkg      3, recently claimed    1.0 (vouched for), 2.0 (signed)
=============  =====================  ==========================================
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from endorse.client import ClientCache, Policy, ProxyApp, ProxyServer, RootPin, Upstream
from endorse.client.resolver import VerifiedIndex
from endorse.developer import IndexClient
from tests.conftest import ENDORSE, IndexServer, server_env, tool_env, twine_upload
from tests.packages import make_wheel
from tests.pep480 import new_signer, release, run_signing_event, wait_for_role

BIN = Path(sys.executable).parent


@dataclass
class World:
    """A running index with published projects, and a pinned root for clients."""

    server: IndexServer
    folder: Path
    root: Path
    wheels: dict[str, Path] = field(default_factory=dict)
    client: IndexClient | None = None
    signer: Any = None

    @property
    def url(self) -> str:
        """The index's base URL."""
        return self.server.url


def start_index(folder: Path, env: dict[str, str] | None = None) -> IndexServer:
    """A fresh ``endorse serve`` (stopped by the caller)."""
    return IndexServer(folder / "index", server_env(env)).start()


def pin_root(server: IndexServer, folder: Path) -> Path:
    """What a user pins: root v1 as the operators publish it."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "root.json"
    path.write_bytes(server.get("/tuf/metadata/1.root.json").content)
    return path


def upload(
    world: World, name: str, version: str, *, token: str | None = None, **kwargs: Any
) -> Path:
    """Build and upload one wheel (the demo token: trust level 1)."""
    wheel = make_wheel(world.folder / "dist", name, version, **kwargs)
    result = twine_upload(world.server, [wheel], token=token)
    assert result.returncode == 0, result.stdout + result.stderr
    world.wheels[wheel.name] = wheel
    return wheel


def build_world(
    server: IndexServer, folder: Path, *, full: bool = True, fresh: bool = True
) -> World:
    """Publish the projects of the module docstring (``full=False``: no gamma or
    delta; ``fresh=False``: no fresh-pkg), for tests that spend an index of their own."""
    world = World(server, folder, pin_root(server, folder / "pinned"))
    dist = folder / "dist"
    wheels = [
        make_wheel(dist, "alpha", "1.0", deps=["beta>=1"]),
        make_wheel(dist, "beta", "1.0"),
        make_wheel(dist, "beta", "2.0"),
        make_wheel(dist, "signed-pkg", "1.0"),
    ]
    if full:
        wheels += [make_wheel(dist, "gamma", "1.0"), make_wheel(dist, "delta", "1.0")]
    if fresh:
        wheels.append(make_wheel(dist, "fresh-pkg", "1.0"))
    result = twine_upload(server, wheels)
    assert result.returncode == 0, result.stdout + result.stderr
    world.wheels.update({w.name: w for w in wheels})
    if full:
        token = server.admin("token", "create", "demo", "--project", "delta").stdout.strip()
        delta = make_wheel(dist, "delta", "2.0")
        result = twine_upload(server, [delta], token=token)
        assert result.returncode == 0, result.stdout + result.stderr
        world.wheels[delta.name] = delta

    client = IndexClient(server.url, "__token__", server.token)
    signer = new_signer()
    client.register_key(signer.public_key, label="laptop")
    client.claim("signed-pkg", maintainers=[], threshold=1)
    signed2 = make_wheel(dist, "signed-pkg", "2.0", deps=["alpha"])
    assert release(client, "signed-pkg", signer, [signed2])["state"] == "accepted"
    world.wheels[signed2.name] = signed2
    wait_for_role(client, "signed-pkg", 1)
    run_signing_event(server)
    if fresh:
        client.claim("fresh-pkg", maintainers=[], threshold=1)
        fresh2 = make_wheel(dist, "fresh-pkg", "2.0")
        assert release(client, "fresh-pkg", signer, [fresh2])["state"] == "accepted"
        world.wheels[fresh2.name] = fresh2
        wait_for_role(client, "fresh-pkg", 1)
    server.wait_published()
    world.client, world.signer = client, signer
    return world


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The shared index (see the module docstring)."""
    folder = tmp_path_factory.mktemp("world")
    server = start_index(folder)
    try:
        yield build_world(server, folder)
    finally:
        server.stop()


# -- the client, in this process and as the real command ----------------------------


def verified_index(url: str, cache: Path, root: Path | None) -> VerifiedIndex:
    """The library's view of an upstream, with a pinned root and a private cache."""
    upstream = Upstream.parse(url)
    return VerifiedIndex(upstream, ClientCache.for_upstream(upstream, cache), RootPin(root))


@contextlib.contextmanager
def proxy(
    url: str, cache: Path, root: Path | None, policy: Policy | None = None
) -> Iterator[ProxyServer]:
    """An in-process verifying proxy on a free port."""
    app = ProxyApp(verified_index(url, cache, root), policy)
    with ProxyServer(app) as server:
        yield server


def endorse(
    *args: str, cache: Path, input: str | None = None, timeout: float = 300, columns: int = 200
) -> subprocess.CompletedProcess[str]:
    """Run the real ``endorse`` command with a private client cache."""
    env = tool_env({"ENDORSE_CLIENT_CACHE": str(cache), "COLUMNS": str(columns)})
    return subprocess.run(
        [ENDORSE, *args], capture_output=True, text=True, env=env, input=input, timeout=timeout
    )


def endorse_install(
    url: str,
    root: Path | None,
    cache: Path,
    target: Path,
    *requirements: str,
    installer: str = "pip",
    options: tuple[str, ...] = (),
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any] | None]:
    """``endorse install --json`` into ``--target``; returns the process and its report."""
    pinned = ("--root", str(root)) if root is not None else ()
    tool_args = ["--target", str(target)]
    if installer == "pip":
        tool_args += ["--no-cache-dir"]
    else:
        tool_args += ["--no-cache"]
    result = endorse(
        "install",
        "--index",
        url,
        *pinned,
        "--python",
        sys.executable,
        "--installer",
        installer,
        "--json",
        *options,
        "--",
        *tool_args,
        *requirements,
        cache=cache,
    )
    report = json.loads(result.stdout) if result.stdout.strip().startswith("{") else None
    return result, report


def installed(target: Path) -> dict[str, str]:
    """``{project: version}`` of what a ``--target`` install put there."""
    found: dict[str, str] = {}
    if not target.exists():
        return found
    for info in target.glob("*.dist-info"):
        name, _, version = info.name.removesuffix(".dist-info").rpartition("-")
        found[name.replace("_", "-").lower()] = version
    return found


def levels(report: dict[str, Any]) -> dict[str, int]:
    """``{filename: trust level}`` of an install report."""
    return {f["filename"]: f["trust"] for f in report["files"]}


def uv() -> str:
    """The uv executable of the test environment."""
    return str(BIN / "uv")
