"""The happy path: real pip and uv install through the verifying proxy, with trust levels.

Also the ways to start trusting an index (pinned root file, pinned hash, loud
trust on first use, nothing: refused), the escape hatch, and the standalone
``endorse proxy`` command with plain pip and uv pointed at it.
"""

from __future__ import annotations

import hashlib
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from endorse.client import NoTrustedRoot, RootPin
from tests.client.conftest import (
    ENDORSE,
    World,
    endorse,
    endorse_install,
    installed,
    levels,
    proxy,
    verified_index,
)
from tests.client.mirror import Mirror
from tests.conftest import pip_install, tool_env, uv_install


def test_pip_installs_claimed_and_unclaimed_projects_with_trust_levels(
    world: World, tmp_path: Path
) -> None:
    """signed-pkg (claimed) pulls alpha and beta (index-signed); delta 2.0 was
    uploaded with a scoped token; fresh-pkg is recently claimed."""
    result, report = endorse_install(
        world.url,
        world.root,
        tmp_path / "cache",
        tmp_path / "t",
        "signed-pkg",
        "delta",
        "fresh-pkg",
    )
    assert result.returncode == 0, result.stderr
    assert installed(tmp_path / "t") == {
        "signed-pkg": "2.0",
        "alpha": "1.0",
        "beta": "2.0",
        "delta": "2.0",
        "fresh-pkg": "2.0",
    }
    assert report is not None
    assert levels(report) == {
        "signed_pkg-2.0-py3-none-any.whl": 3,
        "alpha-1.0-py3-none-any.whl": 1,
        "beta-2.0-py3-none-any.whl": 1,
        "delta-2.0-py3-none-any.whl": 2,
        "fresh_pkg-2.0-py3-none-any.whl": 3,
    }
    by_name = {f["filename"]: f for f in report["files"]}
    signed = by_name["signed_pkg-2.0-py3-none-any.whl"]
    assert signed["source"] == "claimed" and signed["role"] == "p-signed-pkg"
    assert "offline-signed claimed role" in signed["reason"]
    fresh = by_name["fresh_pkg-2.0-py3-none-any.whl"]
    assert fresh["source"] == "recently-claimed" and fresh["role"] == "rc-fresh-pkg"
    assert "recently claimed: not yet protected against an index compromise" in fresh["reason"]
    assert by_name["delta-2.0-py3-none-any.whl"]["label"] == "index-signed, strong upload auth"
    assert by_name["alpha-1.0-py3-none-any.whl"]["role"].startswith("bin-")
    for filename, entry in by_name.items():
        assert entry["sha256"] == hashlib.sha256(world.wheels[filename].read_bytes()).hexdigest()
    assert report["refused"] == [] and report["bytes"]["metadata"] > 0
    # The table people read, on stderr.
    assert "signed_pkg-2.0-py3-none-any.whl" in result.stderr
    assert "3 developer-signed" in result.stderr and "1 index-signed" in result.stderr
    assert "(recently claimed)" in result.stderr


def test_uv_installs_through_endorse_install(world: World, tmp_path: Path) -> None:
    result, report = endorse_install(
        world.url,
        world.root,
        tmp_path / "cache",
        tmp_path / "t",
        "signed-pkg==1.0",
        "gamma",
        installer="uv",
    )
    assert result.returncode == 0, result.stderr
    assert installed(tmp_path / "t") == {"signed-pkg": "1.0", "gamma": "1.0"}
    assert report is not None and report["installer"] == "uv"
    # signed-pkg 1.0 was uploaded before the claim; the developers vouched for it.
    assert levels(report) == {
        "signed_pkg-1.0-py3-none-any.whl": 3,
        "gamma-1.0-py3-none-any.whl": 1,
    }


def test_standalone_proxy_with_plain_pip_and_uv(world: World, tmp_path: Path) -> None:
    """`endorse proxy` as a long-running process; pip and uv unmodified."""
    process = subprocess.Popen(
        [ENDORSE, "proxy", "--index", world.url, "--root", str(world.root), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=tool_env({"ENDORSE_CLIENT_CACHE": str(tmp_path / "cache")}),
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert "endorse proxy serving on" in line, process.stderr.read() if process.stderr else ""
        index_url = line.split()[-1]
        pip = pip_install(world.server, tmp_path / "pip", "alpha", index_url=index_url)
        assert pip.returncode == 0, pip.stdout + pip.stderr
        assert installed(tmp_path / "pip") == {"alpha": "1.0", "beta": "2.0"}
        uv = uv_install(world.server, tmp_path / "uv", "signed-pkg", index_url=index_url)
        assert uv.returncode == 0, uv.stdout + uv.stderr
        assert installed(tmp_path / "uv") == {"signed-pkg": "2.0", "alpha": "1.0", "beta": "2.0"}
        # PEP 691 JSON and PEP 503 HTML, both built from the verified metadata.
        page = httpx.get(
            index_url + "signed-pkg/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}
        ).json()
        assert sorted(f["filename"] for f in page["files"]) == [
            "signed_pkg-1.0-py3-none-any.whl",
            "signed_pkg-2.0-py3-none-any.whl",
        ]
        html = httpx.get(index_url + "beta/", headers={"Accept": "text/html"}).text
        assert "beta-1.0-py3-none-any.whl" in html and "../../tuf/targets/" in html
        # The index-signed listing is served as the index signed it.
        signed_page = world.server.get(
            "/simple/beta/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}
        )
        assert (
            httpx.get(
                index_url + "beta/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}
            ).content
            == signed_page.content
        )
        assert httpx.get(index_url + "no-such-project/").status_code == 404
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


def test_root_pinned_by_hash_or_trusted_on_first_use_loudly(world: World, tmp_path: Path) -> None:
    root_sha256 = hashlib.sha256(world.root.read_bytes()).hexdigest()
    index = verified_index(world.url, tmp_path / "c1", None)
    index.pin = RootPin(root_sha256=root_sha256)
    assert index.session().status()["root"]["version"] == 1
    assert "matching the pinned sha256" in index.root_source

    wrong = verified_index(world.url, tmp_path / "c2", None)
    wrong.pin = RootPin(root_sha256="ab" * 32)
    with pytest.raises(NoTrustedRoot, match="matches the pinned sha256"):
        wrong.session()

    none, _ = endorse_install(world.url, None, tmp_path / "c3", tmp_path / "t3", "gamma")
    assert none.returncode == 3 and installed(tmp_path / "t3") == {}
    assert "no trusted root" in none.stderr and "--root-sha256" in none.stderr

    tofu, _ = endorse_install(
        world.url,
        None,
        tmp_path / "c4",
        tmp_path / "t4",
        "gamma",
        options=("--trust-on-first-use",),
    )
    assert tofu.returncode == 0, tofu.stderr
    assert "TRUST ON FIRST USE" in tofu.stderr
    # The cached root is the anchor from now on: no pin needed, no warning.
    again = verified_index(world.url, tmp_path / "c4", None)
    assert again.session().status()["root"]["version"] == 1
    assert "cached" in again.root_source


def test_escape_hatch_installs_unverified_and_says_so(world: World, tmp_path: Path) -> None:
    mirror = Mirror(world.url)
    try:
        evil = world.wheels["gamma-1.0-py3-none-any.whl"].read_bytes()
        mirror.serve(r"gamma-1\.0-py3-none-any\.whl$", evil.replace(b"VERSION", b"EVILVER"))
        refused, _ = endorse_install(
            mirror.url, world.root, tmp_path / "c", tmp_path / "t1", "gamma"
        )
        assert refused.returncode == 3 and installed(tmp_path / "t1") == {}
        result, report = endorse_install(
            mirror.url,
            None,
            tmp_path / "c2",
            tmp_path / "t2",
            "gamma",
            options=("--unsafely-disable-package-verification",),
        )
    finally:
        mirror.stop()
    assert "PACKAGE VERIFICATION IS DISABLED" in result.stderr and "UNVERIFIED" in result.stderr
    assert report is not None and report["verification"] is False and report["files"] == []
    assert [u["target"].rsplit("/", 1)[-1] for u in report["unverified"]] == [
        "gamma-1.0-py3-none-any.whl"
    ]


def test_install_refuses_arguments_that_bypass_the_proxy(world: World, tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("gamma\n--extra-index-url https://elsewhere.example/simple/\n")
    # The other forms: tests/client/test_units.py.
    result = endorse(
        "install", "--index", world.url, "--root", str(world.root), "--", "-r", str(requirements),
        cache=tmp_path / "c",
    )  # fmt: skip
    assert result.returncode == 3, result.stderr
    assert f"{requirements}:2" in result.stderr
    assert "fetch files the verifying proxy never sees" in result.stderr


def test_in_process_proxy_serves_concurrent_requests(world: World, tmp_path: Path) -> None:
    """uv fetches in parallel: the proxy serialises ngclient, not the downloads."""
    with proxy(world.url, tmp_path / "cache", world.root) as server:
        errors: list[BaseException] = []

        def get(name: str) -> None:
            try:
                r = httpx.get(server.index_url + f"{name}/", timeout=60)
                assert r.status_code == 200, r.text
            except BaseException as e:
                errors.append(e)

        threads = [
            threading.Thread(target=get, args=(n,))
            for n in ["alpha", "beta", "gamma", "delta", "signed-pkg", "fresh-pkg"] * 3
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        # Names are normalised the way the index does it; HEAD (uv) gets the headers only.
        moved = httpx.get(server.url + "/simple/Signed_Pkg", follow_redirects=False)
        assert moved.status_code == 301 and moved.headers["location"] == "/simple/signed-pkg/"
        page = httpx.get(server.index_url + "gamma/", headers={"Accept": "text/html"}).text
        link = page.split('href="', 1)[1].split("#", 1)[0]
        head = httpx.head(server.index_url + "gamma/" + link)
        assert head.status_code == 200 and head.content == b""
        assert (
            int(head.headers["content-length"])
            == world.wheels["gamma-1.0-py3-none-any.whl"].stat().st_size
        )
        assert (
            head.headers["x-endorse-trust"] == "1" and head.headers["cache-control"] == "no-store"
        )
        assert httpx.get(server.url + "/tuf/targets/../../etc/passwd").status_code == 404


def test_uv_through_the_proxy_prints_no_connection_pool_warnings(
    world: World, tmp_path: Path
) -> None:
    """uv fetches in parallel; the proxy's upstream connections must not spill
    urllib3's "Connection pool is full, discarding connection" on the user."""
    result, report = endorse_install(
        world.url, world.root, tmp_path / "cache", tmp_path / "t",
        "alpha", "beta==1.0", "gamma", "delta", "signed-pkg", "fresh-pkg", installer="uv",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert report is not None and len(report["files"]) == 6
    assert "Connection pool is full" not in result.stderr


def test_trust_table_fits_a_terminal_and_explains_each_kind_once(
    world: World, tmp_path: Path
) -> None:
    """At 80 columns each file takes a line or two; what each kind of signature
    protects against is said once, not on every row; a token upload is not
    called a password upload."""
    result = endorse(
        "install", "--index", world.url, "--root", str(world.root), "--python", sys.executable,
        "--", "--target", str(tmp_path / "t"), "signed-pkg", "delta==1.0", "fresh-pkg", "gamma",
        cache=tmp_path / "c", columns=80,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert max(len(line) for line in lines) <= 80
    text = " ".join(result.stderr.split())
    assert text.count("not protected against a compromised index") == 1
    assert text.count("a compromised index cannot replace it") == 1
    assert text.count("not yet protected against an index compromise") == 1
    first = next(i for i, line in enumerate(lines) if "file(s) verified from" in line)
    last = next(i for i, line in enumerate(lines) if line.startswith("  claimed:"))
    assert last - first <= 5 + 2 * 6  # title, rules and header; six files of at most 2 lines
    assert "unscoped token" in result.stderr and "password upload" not in text
