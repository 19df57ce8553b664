"""A role reused by name under the wrong parent (issue 10), and the rest of its family.

The attacker holds every online key and runs the victim's mirror
(:mod:`tests.client.role_reuse`). It delegates, from an online role, a name
the real layout gives to someone else — ``p-signed-pkg``, which the offline
``claimed`` role delegates to signed-pkg's developers — to a key of its own,
for the folder of an index-signed project, and publishes under that name a
forged role that lists an evil signed-pkg wheel. python-tuf keeps delegated
roles by name: 7.0.0 then answers a later lookup through ``claimed`` with the
forged role, and 7.0.1 lets a role loaded later through the second parent
replace the genuine one. endorse's client verifies every role along the path
of each lookup and refuses a role name reached through two parents, with a
message that names the role and both parents.

The index itself stays honest (the attacker forges on a copy of its store),
so every test here shares the session's ``world``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from packaging.utils import NormalizedName
from tuf.api.metadata import Metadata, Targets
from tuf.ngclient import Updater

from endorse.metadata.layout import bin_for
from endorse.metadata.paths import file_target, listing_target
from endorse.metadata.roles import RECENTLY_CLAIMED, UNCLAIMED
from endorse.metadata.storage_keys import metadata_key
from tests.client.conftest import World, endorse, endorse_install, installed, proxy
from tests.client.role_reuse import RoleReuseMirror
from tests.packages import make_wheel

EVIL = "EVIL = True  # steals credentials"
CLAIMED_PATH = "targets → claimed"
TWO_PARENTS = "is delegated by two roles"


def name(raw: str) -> NormalizedName:
    return NormalizedName(raw)


@pytest.fixture
def attack(world: World, tmp_path: Path) -> Iterator[RoleReuseMirror]:
    mirror = RoleReuseMirror(world.server, tmp_path / "attacker")
    yield mirror
    mirror.stop()


def evil_wheel(folder: Path, project: str, version: str = "9.0") -> tuple[Path, dict[str, bytes]]:
    wheel = make_wheel(folder / "evil", project, version, payload=EVIL)
    return wheel, {file_target(name(project), wheel.name): wheel.read_bytes()}


def verify(
    attack: RoleReuseMirror, world: World, cache: Path, *files: Path
) -> tuple[int, list[dict[str, Any]]]:
    """``endorse verify --json`` of ``files``, in this order, in one run (a new victim)."""
    attack.next_victim()
    result = endorse(
        "verify", "--index", attack.url, "--root", str(world.root), "--json",
        *map(str, files), cache=cache,
    )  # fmt: skip
    assert result.stdout.strip().startswith("{"), result.stderr
    return result.returncode, json.loads(result.stdout)["checks"]


def assert_two_parents(message: str, role: str, *paths: str) -> None:
    assert f"role {role} {TWO_PARENTS}" in message, message
    for path in paths:
        assert path in message, message


def bins(world: World, *target_paths: str) -> list[str]:
    """The bins that hold these targets."""
    store = world.server.data_dir / "store"
    snapshot = json.loads((store / "metadata" / "timestamp.json").read_text())
    version = snapshot["signed"]["meta"]["snapshot.json"]["version"]
    meta = json.loads((store / metadata_key("snapshot", version)).read_text())
    unclaimed_version = meta["signed"]["meta"]["unclaimed.json"]["version"]
    unclaimed = (
        Metadata[Targets]
        .from_bytes((store / metadata_key(UNCLAIMED, unclaimed_version)).read_bytes())
        .signed
    )
    return [bin_for(unclaimed, path) for path in target_paths]


def test_compromised_index_cannot_ship_claimed_file_through_a_reused_role_name(
    world: World, attack: RoleReuseMirror, tmp_path: Path
) -> None:
    """The issue's attack: ``p-signed-pkg`` delegated again by recently-claimed
    (non-terminating, for alpha's folder), the forged role loaded first by
    alpha's lookup. ``endorse verify alpha evil`` and ``endorse install alpha
    signed-pkg==9.0`` with pip installed the evil wheel with python-tuf 7.0.0."""
    wheel, targets = evil_wheel(tmp_path, "signed-pkg")
    attack.reuse("p-signed-pkg", RECENTLY_CLAIMED, paths_of=name("alpha"), targets=targets)
    alpha = world.wheels["alpha-1.0-py3-none-any.whl"]

    code, checks = verify(attack, world, tmp_path / "c1", alpha, wheel)
    assert code == 3
    assert checks[0]["ok"] and checks[0]["trust"] == 1
    assert not checks[1]["ok"]
    assert_two_parents(
        checks[1]["error"], "p-signed-pkg", "targets → recently-claimed", CLAIMED_PATH
    )
    assert "do not install from this upstream" in checks[1]["hint"]

    attack.next_victim()
    result, report = endorse_install(
        attack.url, world.root, tmp_path / "c2", tmp_path / "t", "alpha", "signed-pkg==9.0"
    )
    assert result.returncode == 3, result.stderr
    assert installed(tmp_path / "t") == {}
    assert f"role p-signed-pkg {TWO_PARENTS}" in result.stderr
    assert report is not None and not report["files"]
    assert {r["check"] for r in report["refused"]} == {"delegation (one role, two parents)"}

    # The proxy, asked for alpha's listing first and then straight for the evil file.
    attack.next_victim()
    with proxy(attack.url, tmp_path / "c3", world.root) as px:
        assert httpx.get(px.url + "/simple/alpha/").status_code == 200
        path = next(iter(targets))
        answer = httpx.get(f"{px.url}/tuf/targets/{path}")
        assert answer.status_code == 403
        assert TWO_PARENTS in answer.reason_phrase and EVIL.encode() not in answer.content


def test_reused_role_name_refused_when_the_genuine_role_was_loaded_first(
    world: World, attack: RoleReuseMirror, tmp_path: Path
) -> None:
    """Lookup order reversed: signed-pkg's genuine role first, through claimed;
    then alpha's lookup reaches the forged one through recently-claimed (the
    mirror answers the same consistent name with other bytes). With python-tuf
    7.0.1 the forged role replaced the genuine one and the proxy served the evil
    wheel."""
    wheel, targets = evil_wheel(tmp_path, "signed-pkg")
    attack.reuse(
        "p-signed-pkg",
        RECENTLY_CLAIMED,
        paths_of=name("alpha"),
        targets=targets,
        order="genuine-first",
    )
    signed = world.wheels["signed_pkg-2.0-py3-none-any.whl"]
    alpha = world.wheels["alpha-1.0-py3-none-any.whl"]
    code, checks = verify(attack, world, tmp_path / "c1", signed, alpha, wheel)
    assert code == 3
    assert checks[0]["ok"] and checks[0]["trust"] == 3
    assert_two_parents(checks[1]["error"], "p-signed-pkg", CLAIMED_PATH, "recently-claimed")
    assert "is not signed by the index or its developers" in checks[2]["error"]

    attack.next_victim()
    with proxy(attack.url, tmp_path / "c2", world.root) as px:
        listing = httpx.get(px.url + "/simple/signed-pkg/")
        assert listing.status_code == 200 and "9.0" not in listing.text
        refused = httpx.get(px.url + "/simple/alpha/")
        assert refused.status_code == 403 and TWO_PARENTS in refused.reason_phrase
        answer = httpx.get(f"{px.url}/tuf/targets/{next(iter(targets))}")
        assert answer.status_code == 404 and EVIL.encode() not in answer.content


def test_reused_role_name_under_unclaimed_refused(
    world: World, attack: RoleReuseMirror, tmp_path: Path
) -> None:
    """The same forged ``p-signed-pkg``, delegated by unclaimed (its bins made
    explicit, the forged delegation first)."""
    wheel, targets = evil_wheel(tmp_path, "signed-pkg")
    attack.reuse("p-signed-pkg", UNCLAIMED, paths_of=name("alpha"), targets=targets)
    alpha = world.wheels["alpha-1.0-py3-none-any.whl"]
    code, checks = verify(attack, world, tmp_path / "c", alpha, wheel)
    assert code == 3 and checks[0]["ok"]
    assert_two_parents(checks[1]["error"], "p-signed-pkg", "targets → unclaimed", CLAIMED_PATH)


def test_reused_role_name_under_a_bin_refused(
    world: World, attack: RoleReuseMirror, tmp_path: Path
) -> None:
    """Delegated by the bin of alpha's listing, which the attacker moves into the
    forged role, so that alpha's own lookup must load it."""
    wheel, targets = evil_wheel(tmp_path, "signed-pkg")
    listing = listing_target(name("alpha"), "json")
    (alpha_bin,) = bins(world, listing)
    attack.reuse(
        "p-signed-pkg", alpha_bin, paths_of=name("alpha"), targets=targets, move_listing=listing
    )
    alpha = world.wheels["alpha-1.0-py3-none-any.whl"]
    code, checks = verify(attack, world, tmp_path / "c", alpha, wheel)
    assert code == 3 and checks[0]["ok"]
    assert_two_parents(
        checks[1]["error"], "p-signed-pkg", f"targets → unclaimed → {alpha_bin}", CLAIMED_PATH
    )


def test_reused_recently_claimed_role_under_a_sibling_of_claimed_refused(
    world: World, attack: RoleReuseMirror, tmp_path: Path
) -> None:
    """``rc-fresh-pkg`` (recently-claimed's project role) delegated again by
    unclaimed, a sibling of claimed, with an evil fresh-pkg wheel in it."""
    wheel, targets = evil_wheel(tmp_path, "fresh-pkg")
    attack.reuse("rc-fresh-pkg", UNCLAIMED, paths_of=name("alpha"), targets=targets)
    alpha = world.wheels["alpha-1.0-py3-none-any.whl"]
    code, checks = verify(attack, world, tmp_path / "c", alpha, wheel)
    assert code == 3 and checks[0]["ok"]
    assert_two_parents(
        checks[1]["error"], "rc-fresh-pkg", "targets → unclaimed", "targets → recently-claimed"
    )


def test_reused_role_name_with_a_terminating_delegation_refused(
    world: World, attack: RoleReuseMirror, tmp_path: Path
) -> None:
    """The forged delegation is terminating: alpha's lookup ends in the forged
    role, which then passes for a recently-claimed project role of alpha (the
    recently-claimed key can do that anyway), and lists no file of alpha."""
    wheel, targets = evil_wheel(tmp_path, "signed-pkg")
    attack.reuse(
        "p-signed-pkg", RECENTLY_CLAIMED, paths_of=name("alpha"), targets=targets, terminating=True
    )
    alpha = world.wheels["alpha-1.0-py3-none-any.whl"]
    code, checks = verify(attack, world, tmp_path / "c", alpha, wheel)
    assert code == 3
    assert "alpha-1.0-py3-none-any.whl of alpha is not signed" in checks[0]["error"]
    assert_two_parents(checks[1]["error"], "p-signed-pkg", "recently-claimed", CLAIMED_PATH)


def test_reused_bin_name_refused(world: World, attack: RoleReuseMirror, tmp_path: Path) -> None:
    """A bin's name (one that holds a file of another index-signed project)
    delegated again by recently-claimed, for alpha's folder, with an evil wheel
    of that project in it."""
    alpha = world.wheels["alpha-1.0-py3-none-any.whl"]
    alphas = {listing_target(name("alpha"), "json"), file_target(name("alpha"), alpha.name)}
    taken = set(bins(world, *alphas))
    victims = [
        (project, wheel, reused)
        for project, wheel in (("beta", "beta-2.0"), ("gamma", "gamma-1.0"), ("delta", "delta-2.0"))
        for reused in bins(
            world,
            listing_target(name(project), "json"),
            file_target(name(project), f"{wheel}-py3-none-any.whl"),
        )
        if reused not in taken
    ]
    project, version, reused = victims[0]
    victim = world.wheels[f"{version}-py3-none-any.whl"]
    evil = make_wheel(tmp_path / "evil", project, version.split("-")[1], payload=EVIL)
    forged = {file_target(name(project), evil.name): evil.read_bytes()}
    attack.reuse(reused, RECENTLY_CLAIMED, paths_of=name("alpha"), targets=forged)
    code, checks = verify(attack, world, tmp_path / "c", alpha, victim)
    assert code == 3 and checks[0]["ok"]
    assert_two_parents(
        checks[1]["error"], reused, "targets → recently-claimed", "targets → unclaimed"
    )


def test_unmodified_ngclient_installs_the_forged_role(world: World, tmp_path: Path) -> None:
    """What a plain TUF client does with the same attack (docs/security-model.md):
    python-tuf 7.0.0 takes the forged role loaded first, 7.0.1 the one loaded
    last; in one of the two orders it finds the evil wheel as signed-pkg's file."""
    _, targets = evil_wheel(tmp_path, "signed-pkg")
    (evil_path,) = targets
    found = []
    for order in ("forged-first", "genuine-first"):
        attack = RoleReuseMirror(world.server, tmp_path / order)
        try:
            attack.reuse(
                "p-signed-pkg",
                RECENTLY_CLAIMED,
                paths_of=name("alpha"),
                targets=targets,
                order=order,  # type: ignore[arg-type]
            )
            updater = plain_updater(attack.url, world.root, tmp_path / f"ngclient-{order}")
            first, second = (
                ("alpha", "signed-pkg") if order == "forged-first" else ("signed-pkg", "alpha")
            )
            for project in (first, second):
                updater.get_targetinfo(listing_target(name(project), "json"))
            found.append(updater.get_targetinfo(evil_path))
        finally:
            attack.stop()
    assert any(target is not None for target in found), found


def plain_updater(url: str, root: Path, folder: Path) -> Updater:
    """An unmodified ngclient Updater, pinned to the world's root, reading ``url``."""
    (folder / "metadata").mkdir(parents=True)
    (folder / "targets").mkdir()
    updater = Updater(
        str(folder / "metadata"),
        f"{url}/tuf/metadata/",
        str(folder / "targets"),
        f"{url}/tuf/targets/",
        bootstrap=root.read_bytes(),
    )
    updater.refresh()
    return updater
