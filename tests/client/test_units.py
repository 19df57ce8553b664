"""Small pieces of the client, without an index."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from endorse.client.errors import VerificationFailed
from endorse.client.install import (
    TargetEnvironment,
    check_arguments,
    installer_command,
    installer_env,
    target_environment,
)
from endorse.client.proxy import negotiate
from endorse.client.trust import index_signed_trust
from endorse.client.updater import ClientCache, CountingFetcher, RootPin, Upstream, initial_root
from endorse.errors import ConfigError
from endorse.metadata.trust import TrustLevel


@pytest.mark.parametrize(
    "args",
    [
        ["-i", "https://x/simple/", "a"],
        ["-ihttps://x/simple/", "a"],
        ["--index-url=https://x/simple/", "a"],
        ["--extra-index-url", "https://x/simple/", "a"],
        ["-f", "/wheels", "a"],
        ["--find-links=/wheels", "a"],
        ["a @ https://x/a-1.0-py3-none-any.whl"],
        ["git+https://x/a.git"],
    ],
)
def test_arguments_that_bypass_the_proxy_are_refused(args: list[str]) -> None:
    with pytest.raises(VerificationFailed, match="never sees"):
        check_arguments(args)


def test_requirements_files_are_checked_too(tmp_path: Path) -> None:
    (tmp_path / "base.txt").write_text("a==1\n# --index-url in a comment is fine\n")
    (tmp_path / "nested.txt").write_text("-r base.txt\nb==2 --hash=sha256:00\n")
    check_arguments(["-r", str(tmp_path / "nested.txt"), "--target", "t", "-e", "."])
    (tmp_path / "base.txt").write_text("a==1\n--find-links /elsewhere\n")
    with pytest.raises(VerificationFailed, match=r"base\.txt:2"):
        check_arguments([f"--requirement={tmp_path / 'nested.txt'}"])


def test_installer_command_and_environment() -> None:
    here = target_environment(sys.executable)
    pip = installer_command("pip", "http://127.0.0.1:1/simple/", ["-r", "r.txt"], here)
    assert pip[0] == sys.executable
    assert pip[1:] == [
        "-m",
        "pip",
        "install",
        "--isolated",
        "--index-url",
        "http://127.0.0.1:1/simple/",
        "-r",
        "r.txt",
    ]
    env = installer_env("pip", {"PIP_INDEX_URL": "x", "PIP_FIND_LINKS": "y", "HOME": "/h"})
    assert env["PIP_CONFIG_FILE"] == os.devnull and "PIP_INDEX_URL" not in env
    assert env["HOME"] == "/h" and "127.0.0.1" in env["NO_PROXY"]
    uv_env = installer_env(
        "uv", {"UV_INDEX_URL": "x", "UV_INDEX_PRIVATE_USERNAME": "u", "UV_CACHE_DIR": "c"}
    )
    assert uv_env["UV_NO_CONFIG"] == "1" and uv_env["UV_CACHE_DIR"] == "c"
    assert "UV_INDEX_URL" not in uv_env and "UV_INDEX_PRIVATE_USERNAME" not in uv_env
    py = TargetEnvironment("/py", Path("/"), "--python")
    uv = installer_command("uv", "http://127.0.0.1:1/simple/", ["a"], py)
    assert uv[1:] == [
        "pip",
        "install",
        "--index-url",
        "http://127.0.0.1:1/simple/",
        "--python",
        "/py",
        "a",
    ]


def test_negotiation_and_upstream_urls() -> None:
    pip_accept = (
        "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, "
        "text/html; q=0.01"
    )
    assert negotiate(pip_accept, None) == "json"
    assert negotiate("text/html", None) == "html"
    assert negotiate("application/vnd.pypi.simple.v1+json; q=0", None) == "html"
    assert negotiate(None, "application/vnd.pypi.simple.v1+json") == "json"
    assert Upstream.parse("https://i.example/simple/").url == "https://i.example"
    assert Upstream.parse("https://i.example/").metadata_url == "https://i.example/tuf/metadata/"
    with pytest.raises(VerificationFailed):
        Upstream.parse("ftp://i.example")


def test_a_bin_cannot_vouch_for_a_developer_signature() -> None:
    assert index_signed_trust({"trust": 2}, "bin-1").level is TrustLevel.INDEX_SIGNED_STRONG_AUTH
    forged = index_signed_trust({"trust": 4}, "bin-1")
    assert forged.level is TrustLevel.INDEX_SIGNED and "cannot vouch" in forged.reason
    assert index_signed_trust(None, "bin-1").level is TrustLevel.INDEX_SIGNED


def test_upload_url_and_short_root_pin_are_usage_errors(tmp_path: Path) -> None:
    """`--index …/legacy/` says it is the upload URL; a partial `--root-sha256`
    is refused before anything is fetched, instead of a mismatch that reads
    like a match."""
    with pytest.raises(ConfigError, match="is the index's upload URL") as raised:
        Upstream.parse("http://127.0.0.1:8080/legacy/")
    assert raised.value.hint == "pass the index's base URL: --index http://127.0.0.1:8080"
    upstream = Upstream.parse("http://127.0.0.1:9")  # nothing listens there
    cache = ClientCache.for_upstream(upstream, tmp_path)
    pin = RootPin(root_sha256="25af87d2")
    with pytest.raises(ConfigError, match=r"64 hex digits of a SHA-256, not '25af87d2' \(8 "):
        initial_root(upstream, cache, pin, CountingFetcher(upstream))


def test_install_help_example_pins_the_root() -> None:
    """The example a new user copies must work on a fresh machine: with a root pin."""
    from click.testing import CliRunner

    from endorse.cli.install import install

    text = CliRunner().invoke(install, ["--help"]).output
    example = next(line for line in text.splitlines() if "endorse install --index" in line)
    assert "--root-sha256" in example
