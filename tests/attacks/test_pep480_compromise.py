"""PEP 480's compromise table, mounted for real.

The attacker holds every online key of the index (timestamp, snapshot, bins,
unclaimed, recently-claimed) and rewrites the metadata and files the index
serves. For a project in ``claimed`` it can neither replace a file, add a
version, hide the newest version nor roll the project's role back: each
attempt is refused by an unmodified ngclient. The same attacks on an
unclaimed (index-signed) project succeed, which is PEP 458's stated limit, and
on a recently-claimed project they succeed too, as PEP 480's table says
(recently-claimed is signed with an online key).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from tuf.api.exceptions import (
    BadVersionNumberError,
    LengthOrHashMismatchError,
    UnsignedMetadataError,
)
from tuf.api.metadata import Targets
from tuf.ngclient import Updater

from endorse.developer import IndexClient
from endorse.metadata.paths import file_target
from endorse.metadata.roles import claimed_project_role, recently_claimed_project_role
from tests.attacks.attacker import OnlineKeyAttacker
from tests.conftest import IndexServer, twine_upload
from tests.packages import make_wheel
from tests.pep480 import new_signer, release, run_signing_event, wait_for_role

EVIL = b"import os; os.system('steal credentials')\n"


@pytest.fixture
def world(server: IndexServer, tmp_path: Path) -> dict[str, object]:
    """plain-pkg (unclaimed), signed-pkg (claimed, 2 signed versions) and fresh-pkg
    (recently-claimed), plus a client that has already seen all of them."""
    w = tmp_path / "w"
    assert (
        twine_upload(
            server,
            [
                make_wheel(w, "plain-pkg", "1.0"),
                make_wheel(w, "plain-pkg", "2.0"),
                make_wheel(w, "signed-pkg", "1.0"),
                make_wheel(w, "fresh-pkg", "1.0"),
            ],
        ).returncode
        == 0
    )
    client = IndexClient(server.url, "__token__", server.token)
    signer = new_signer()
    client.register_key(signer.public_key, label="laptop")
    client.claim("signed-pkg", maintainers=[], threshold=1)
    assert (
        release(client, "signed-pkg", signer, [make_wheel(w, "signed-pkg", "2.0")])["state"]
        == "accepted"
    )
    wait_for_role(client, "signed-pkg", 1)
    assert run_signing_event(server) == {"moved": ["signed-pkg"], "keys_changed": []}
    assert (
        release(client, "signed-pkg", signer, [make_wheel(w, "signed-pkg", "3.0")])["state"]
        == "accepted"
    )
    wait_for_role(client, "signed-pkg", 2)
    client.claim("fresh-pkg", maintainers=[], threshold=1)
    assert (
        release(client, "fresh-pkg", signer, [make_wheel(w, "fresh-pkg", "2.0")])["state"]
        == "accepted"
    )
    wait_for_role(client, "fresh-pkg", 1)

    returning = server.updater(tmp_path / "returning")
    returning.refresh()
    for project, version in [("plain-pkg", "2.0"), ("signed-pkg", "3.0"), ("fresh-pkg", "2.0")]:
        dist = project.replace("-", "_")
        assert (
            returning.get_targetinfo(file_target(project, f"{dist}-{version}-py3-none-any.whl"))
            is not None
        )  # type: ignore[arg-type]
    return {"server": server, "attacker": OnlineKeyAttacker(server.data_dir), "tmp": tmp_path}


def clients(world: dict[str, object], name: str) -> list[Updater]:
    """A fresh client and (a copy of) the returning one, both refreshed now."""
    server, tmp = world["server"], world["tmp"]
    assert isinstance(server, IndexServer) and isinstance(tmp, Path)
    copy = tmp / f"returning-{name}"
    shutil.copytree(tmp / "returning", copy)
    fresh = server.updater(tmp / f"fresh-{name}")
    returning = Updater(
        metadata_dir=str(copy / "metadata"),
        metadata_base_url=f"{server.url}/tuf/metadata/",
        target_base_url=f"{server.url}/tuf/targets/",
        target_dir=str(copy / "targets"),
        bootstrap=None,
    )
    return [fresh, returning]


def fetch(updater: Updater, project: str, filename: str) -> bytes | None:
    """What a client installs: the verified bytes, or None if the target is unknown."""
    updater.refresh()
    info = updater.get_targetinfo(file_target(project, filename))  # type: ignore[arg-type]
    if info is None:
        return None
    return Path(updater.download_target(info)).read_bytes()


def attacker_of(world: dict[str, object]) -> OnlineKeyAttacker:
    attacker = world["attacker"]
    assert isinstance(attacker, OnlineKeyAttacker)
    return attacker


# -- claimed: every attack refused -------------------------------------------------

WHEEL3 = "signed_pkg-3.0-py3-none-any.whl"
WHEEL4 = "signed_pkg-4.0-py3-none-any.whl"


def test_compromised_index_cannot_replace_claimed_file(world: dict[str, object]) -> None:
    """(a) Replace the wheel: re-signing the project role needs the developer's key;
    putting the evil bytes in a bin is shadowed by the terminating delegation."""
    attacker = attacker_of(world)
    role = claimed_project_role("signed-pkg")  # type: ignore[arg-type]
    path = file_target("signed-pkg", WHEEL3)  # type: ignore[arg-type]
    attacker.put_in_bin(path, EVIL)
    for updater in clients(world, "bin"):
        assert fetch(updater, "signed-pkg", WHEEL3) != EVIL

    def replace(targets: Targets) -> None:
        targets.targets[path] = attacker.serve_file(path, EVIL)

    attacker.forge_role(role, replace)
    for updater in clients(world, "role"):
        with pytest.raises(UnsignedMetadataError, match="p-signed-pkg"):
            fetch(updater, "signed-pkg", WHEEL3)


def test_compromised_index_cannot_add_claimed_version(world: dict[str, object]) -> None:
    """(b) Add a version 4.0 nobody signed: not found, or refused."""
    attacker = attacker_of(world)
    path = file_target("signed-pkg", WHEEL4)  # type: ignore[arg-type]
    attacker.put_in_bin(path, EVIL)
    for updater in clients(world, "bin"):
        assert fetch(updater, "signed-pkg", WHEEL4) is None

    def add(targets: Targets) -> None:
        targets.targets[path] = attacker.serve_file(path, EVIL)

    attacker.forge_role(claimed_project_role("signed-pkg"), add)  # type: ignore[arg-type]
    for updater in clients(world, "role"):
        with pytest.raises(UnsignedMetadataError):
            fetch(updater, "signed-pkg", WHEEL4)


def test_compromised_index_cannot_hide_claimed_version(world: dict[str, object]) -> None:
    """(c) Hide the newest version by signing a role without it: refused."""
    attacker = attacker_of(world)
    path = file_target("signed-pkg", WHEEL3)  # type: ignore[arg-type]

    def hide(targets: Targets) -> None:
        del targets.targets[path]

    attacker.forge_role(claimed_project_role("signed-pkg"), hide)  # type: ignore[arg-type]
    for updater in clients(world, "hide"):
        with pytest.raises(UnsignedMetadataError):
            fetch(updater, "signed-pkg", WHEEL3)


def test_compromised_index_cannot_roll_back_claimed_role(world: dict[str, object]) -> None:
    """(d) Serve version 1 of the role (validly signed, without 3.0): a client that
    has seen version 2 refuses it. A client with no history cannot tell; see
    docs/security-model.md (the role's expiry bounds it)."""
    attacker = attacker_of(world)
    role = claimed_project_role("signed-pkg")  # type: ignore[arg-type]
    assert attacker.current_version(role) == 2
    attacker.roll_back(role, 1)
    fresh, returning = clients(world, "rollback")
    with pytest.raises(BadVersionNumberError):
        fetch(returning, "signed-pkg", WHEEL3)
    assert fetch(fresh, "signed-pkg", WHEEL3) is None  # the documented limit


def test_compromised_index_cannot_serve_tampered_claimed_bytes(world: dict[str, object]) -> None:
    """Swapping the stored bytes of a developer-signed file is caught by its hash."""
    server = world["server"]
    assert isinstance(server, IndexServer)
    attacker = attacker_of(world)
    role = attacker.repo.open(claimed_project_role("signed-pkg")).signed  # type: ignore[arg-type]
    assert isinstance(role, Targets)
    target = role.targets[file_target("signed-pkg", WHEEL3)]  # type: ignore[arg-type]
    from endorse.metadata.storage_keys import target_key

    stored = server.data_dir / "store" / target_key(target.path, target.hashes["sha256"])
    stored.write_bytes(EVIL.ljust(target.length, b"#")[: target.length])
    for updater in clients(world, "bytes"):
        with pytest.raises(LengthOrHashMismatchError):
            fetch(updater, "signed-pkg", WHEEL3)


# -- unclaimed and recently-claimed: the boundary, shown honestly -------------------


def test_unclaimed_project_is_not_protected_against_online_key_compromise(
    world: dict[str, object],
) -> None:
    """PEP 458's limit: with the online keys, an index-signed project can be replaced,
    extended, hidden and rolled back."""
    attacker = attacker_of(world)
    wheel2 = "plain_pkg-2.0-py3-none-any.whl"
    attacker.put_in_bin(file_target("plain-pkg", wheel2), EVIL)  # type: ignore[arg-type]
    attacker.put_in_bin(file_target("plain-pkg", "plain_pkg-9.0-py3-none-any.whl"), EVIL)  # type: ignore[arg-type]
    for updater in clients(world, "unclaimed-replace"):
        assert fetch(updater, "plain-pkg", wheel2) == EVIL
    for updater in clients(world, "unclaimed-add"):
        assert fetch(updater, "plain-pkg", "plain_pkg-9.0-py3-none-any.whl") == EVIL
    attacker.put_in_bin(file_target("plain-pkg", wheel2), None)  # type: ignore[arg-type]
    for updater in clients(world, "unclaimed-hide"):
        assert fetch(updater, "plain-pkg", wheel2) is None


def test_recently_claimed_project_falls_with_the_online_keys(world: dict[str, object]) -> None:
    """PEP 480's table: recently-claimed is signed online, so its projects are not
    yet protected; the next signing event moves them into claimed."""
    attacker = attacker_of(world)
    wheel = "fresh_pkg-2.0-py3-none-any.whl"
    path = file_target("fresh-pkg", wheel)  # type: ignore[arg-type]

    def replace(targets: Targets) -> None:
        targets.targets[path] = attacker.serve_file(path, EVIL)

    attacker.take_over_recently_claimed(recently_claimed_project_role("fresh-pkg"), replace)  # type: ignore[arg-type]
    for updater in clients(world, "recent"):
        assert fetch(updater, "fresh-pkg", wheel) == EVIL
