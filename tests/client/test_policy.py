"""The client's policy: minimum trust levels, per project and for all, claimed-only."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from endorse.client import Policy
from endorse.client.errors import PolicyNotMet
from endorse.client.trust import FileTrust, Source
from endorse.errors import ConfigError
from endorse.metadata.trust import TrustLevel
from tests.client.conftest import World, endorse_install, installed, levels, proxy
from tests.conftest import pip_install, uv_install

BIN_1 = FileTrust(TrustLevel.INDEX_SIGNED, Source.INDEX_SIGNED, "bin-3", "index")
BIN_2 = FileTrust(TrustLevel.INDEX_SIGNED_STRONG_AUTH, Source.INDEX_SIGNED, "bin-3", "index")
RECENT = FileTrust(TrustLevel.DEVELOPER_SIGNED, Source.RECENTLY_CLAIMED, "rc-x", "dev")
CLAIMED = FileTrust(TrustLevel.DEVELOPER_SIGNED, Source.CLAIMED, "p-x", "dev")


def test_level_1_file_refused_when_the_project_must_be_developer_signed(
    world: World, tmp_path: Path
) -> None:
    """signed-pkg depends on alpha; alpha is index-signed (level 1)."""
    result, report = endorse_install(
        world.url,
        world.root,
        tmp_path / "c",
        tmp_path / "t1",
        "signed-pkg",
        options=("--require-developer-signed", "alpha"),
    )
    assert result.returncode == 3 and installed(tmp_path / "t1") == {}
    message = (
        "refused alpha-1.0-py3-none-any.whl of alpha: trust level 1 (index-signed) is below "
        "the 3 (developer-signed) the policy requires [rule: --require-developer-signed alpha]"
    )
    assert f"403 Client Error: endorse: {message}" in result.stderr  # pip says it
    assert "ask the maintainers of alpha to claim it" in result.stderr  # endorse's hint
    assert report is not None
    assert [(r["kind"], r["check"]) for r in report["refused"]] == [
        ("policy", "--require-developer-signed alpha")
    ]

    # The same file installs when the policy allows it (the same cache, no rule).
    allowed, report = endorse_install(
        world.url, world.root, tmp_path / "c", tmp_path / "t2", "signed-pkg",
        options=("--require-developer-signed", "signed-pkg"),
    )  # fmt: skip
    assert allowed.returncode == 0, allowed.stderr
    assert report is not None and levels(report)["alpha-1.0-py3-none-any.whl"] == 1
    assert installed(tmp_path / "t2")["alpha"] == "1.0"


def test_policy_file_per_project_level_and_claimed_only(world: World, tmp_path: Path) -> None:
    """delta 1.0 was uploaded with a password (1), 2.0 with a scoped token (2)."""
    policy_file = tmp_path / "client.toml"
    policy_file.write_text(
        "claimed-only = false\n[projects.delta]\nmin-trust = 2\n"
        "[projects.fresh-pkg]\nclaimed-only = true\n"
    )
    policy = Policy.from_file(policy_file)
    with proxy(world.url, tmp_path / "c", world.root, policy) as server:
        ok = pip_install(world.server, tmp_path / "t1", "delta==2.0", index_url=server.index_url)
        old = pip_install(world.server, tmp_path / "t2", "delta==1.0", index_url=server.index_url)
        fresh = uv_install(world.server, tmp_path / "t3", "fresh-pkg", index_url=server.index_url)
    assert ok.returncode == 0, ok.stderr
    assert installed(tmp_path / "t1") == {"delta": "2.0"}
    assert old.returncode != 0 and installed(tmp_path / "t2") == {}
    assert f"[rule: {policy_file}: [projects.delta]]" in old.stderr
    assert fresh.returncode != 0 and installed(tmp_path / "t3") == {}
    assert "the project is recently claimed" in fresh.stderr
    assert f"[rule: {policy_file}: [projects.fresh-pkg]]" in fresh.stderr


def test_policy_decisions() -> None:
    name = canonicalize_name("requests")
    Policy().check(name, "f.whl", BIN_1)  # default: every verified file
    with pytest.raises(PolicyNotMet, match=r"\[rule: --min-trust 2\]"):
        Policy().with_options(min_trust=TrustLevel(2)).check(name, "f.whl", BIN_1)
    Policy().with_options(min_trust=TrustLevel(2)).check(name, "f.whl", BIN_2)
    strict = Policy().with_options(claimed_only=True)
    strict.check(name, "f.whl", CLAIMED)
    for trust in (RECENT, BIN_2):
        with pytest.raises(PolicyNotMet, match=r"\[rule: --claimed-only\]"):
            strict.check(name, "f.whl", trust)
    # The most specific rule wins: a project rule can relax the global one.
    relaxed = Policy.from_mapping(
        {"min-trust": "developer-signed", "projects": {"Requests": {"min-trust": 1}}}, "p.toml"
    )
    relaxed.check(name, "f.whl", BIN_1)
    with pytest.raises(PolicyNotMet, match=r"\[rule: p.toml\]"):
        relaxed.check(canonicalize_name("other"), "f.whl", BIN_2)
    # Command-line rules come after the file's.
    assert relaxed.with_options(require_developer_signed=["requests"]).required_level(name) == 3


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"min-trust": 7}, "Not a trust level"),
        ({"min-trust": "very"}, "Not a trust level"),
        ({"min_trust": 1}, "unknown key 'min_trust'"),
        ({"projects": {"x": {"claimed": True}}}, "unknown key 'claimed'"),
        ({"claimed-only": "yes"}, "Not a bool"),
        ({"require-developer-signed": "requests"}, "must be a list"),
        ({"projects": {"not a name!": {"min-trust": 1}}}, "not a valid project name"),
    ],
)
def test_policy_file_errors_name_the_key(data: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Policy.from_mapping(data, "client.toml")
