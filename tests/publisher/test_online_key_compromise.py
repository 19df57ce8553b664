"""PEP 480's compromise table and the recovery from it, in this process (the fast tier).

The attacker holds every online key (``tests/attacks/attacker.py``) and
rewrites what the in-process index serves; unmodified ngclients, fresh and
returning, fetch through the app. For a project in ``claimed`` every attack
is refused; for an unclaimed or a recently-claimed project it succeeds, as
PEP 458 and PEP 480 say. ``tests/attacks/`` runs the same table against a
real ``endorse serve``.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from securesystemslib.signer import CryptoSigner
from tuf.api.exceptions import (
    BadVersionNumberError,
    LengthOrHashMismatchError,
    UnsignedMetadataError,
)
from tuf.api.metadata import Targets
from tuf.ngclient import Updater

from endorse.metadata.paths import file_target
from endorse.metadata.roles import claimed_project_role, recently_claimed_project_role
from endorse.metadata.storage_keys import target_key
from endorse.publisher.bootstrap import OFFLINE_KEYRING
from tests.attacks.attacker import OnlineKeyAttacker
from tests.inprocess import InProcessIndex
from tests.packages import make_wheel
from tests.pep480 import release

EVIL = b"import os; os.system('steal credentials')\n"
WHEEL3 = "signed_pkg-3.0-py3-none-any.whl"
WHEEL4 = "signed_pkg-4.0-py3-none-any.whl"


@dataclass
class World:
    """plain-pkg (unclaimed), signed-pkg (claimed, role v2), fresh-pkg (recently claimed),
    a client that has seen them all, and the attacker."""

    index: InProcessIndex
    attacker: OnlineKeyAttacker
    folder: Path

    def clients(self, name: str) -> list[Updater]:
        """A fresh client and a copy of the returning one."""
        copy = self.folder / f"returning-{name}"
        shutil.copytree(self.folder / "returning", copy)
        fresh = self.index.updater(self.folder / f"fresh-{name}")
        return [fresh, self.index.updater(copy, bootstrap=False)]


def fetch(updater: Updater, project: str, filename: str) -> bytes | None:
    """What a client installs: the verified bytes, or None if the target is unknown."""
    updater.refresh()
    info = updater.get_targetinfo(file_target(project, filename))  # type: ignore[arg-type]
    return Path(updater.download_target(info)).read_bytes() if info is not None else None


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    index = InProcessIndex.start(tmp_path / "index", in_memory=False)
    try:
        w = tmp_path / "w"
        for project, version in [
            ("plain-pkg", "1.0"),
            ("plain-pkg", "2.0"),
            ("signed-pkg", "1.0"),
            ("fresh-pkg", "1.0"),
        ]:
            assert index.upload(make_wheel(w, project, version)).status_code == 200
        client, signer = index.client(), CryptoSigner.generate_ed25519()
        client.register_key(signer.public_key, label="laptop")
        client.claim("signed-pkg", maintainers=[], threshold=1)
        for version in ("2.0", "3.0"):
            outcome = release(client, "signed-pkg", signer, [make_wheel(w, "signed-pkg", version)])
            assert outcome["state"] == "accepted"
            if version == "2.0":
                assert index.signing_event() == {"moved": ["signed-pkg"], "keys_changed": []}
        client.claim("fresh-pkg", maintainers=[], threshold=1)
        assert (
            release(client, "fresh-pkg", signer, [make_wheel(w, "fresh-pkg", "2.0")])["state"]
            == "accepted"
        )
        returning = index.updater(tmp_path / "returning")
        returning.refresh()
        for project, filename in [
            ("plain-pkg", "plain_pkg-2.0-py3-none-any.whl"),
            ("signed-pkg", WHEEL3),
            ("fresh-pkg", "fresh_pkg-2.0-py3-none-any.whl"),
        ]:
            assert returning.get_targetinfo(file_target(project, filename)) is not None  # type: ignore[arg-type]
        yield World(index, OnlineKeyAttacker(index.data_dir), tmp_path)
    finally:
        index.stop()


def test_compromised_index_cannot_replace_claimed_file(world: World) -> None:
    """(a) A bin entry is shadowed by the terminating delegation; a re-signed role fails."""
    attacker, path = world.attacker, file_target("signed-pkg", WHEEL3)  # type: ignore[arg-type]
    attacker.put_in_bin(path, EVIL)
    for updater in world.clients("bin"):
        assert fetch(updater, "signed-pkg", WHEEL3) != EVIL

    def replace(targets: Targets) -> None:
        targets.targets[path] = attacker.serve_file(path, EVIL)

    attacker.forge_role(claimed_project_role("signed-pkg"), replace)  # type: ignore[arg-type]
    for updater in world.clients("role"):
        with pytest.raises(UnsignedMetadataError, match="p-signed-pkg"):
            fetch(updater, "signed-pkg", WHEEL3)


def test_compromised_index_cannot_add_claimed_version(world: World) -> None:
    """(b) A version nobody signed: not found through the bin, refused in a forged role."""
    attacker, path = world.attacker, file_target("signed-pkg", WHEEL4)  # type: ignore[arg-type]
    attacker.put_in_bin(path, EVIL)
    for updater in world.clients("bin"):
        assert fetch(updater, "signed-pkg", WHEEL4) is None

    def add(targets: Targets) -> None:
        targets.targets[path] = attacker.serve_file(path, EVIL)

    attacker.forge_role(claimed_project_role("signed-pkg"), add)  # type: ignore[arg-type]
    for updater in world.clients("role"):
        with pytest.raises(UnsignedMetadataError):
            fetch(updater, "signed-pkg", WHEEL4)


def test_compromised_index_cannot_hide_claimed_version(world: World) -> None:
    """(c) A role without the newest version is not validly signed."""
    path = file_target("signed-pkg", WHEEL3)  # type: ignore[arg-type]

    def hide(targets: Targets) -> None:
        del targets.targets[path]

    world.attacker.forge_role(claimed_project_role("signed-pkg"), hide)  # type: ignore[arg-type]
    for updater in world.clients("hide"):
        with pytest.raises(UnsignedMetadataError):
            fetch(updater, "signed-pkg", WHEEL3)


def test_compromised_index_cannot_roll_back_claimed_role(world: World) -> None:
    """(d) Version 1 of the role, validly signed: a returning client refuses it; a client
    with no history cannot tell (docs/security-model.md, limit (a))."""
    role = claimed_project_role("signed-pkg")  # type: ignore[arg-type]
    assert world.attacker.current_version(role) == 2
    world.attacker.roll_back(role, 1)
    fresh, returning = world.clients("rollback")
    with pytest.raises(BadVersionNumberError):
        fetch(returning, "signed-pkg", WHEEL3)
    assert fetch(fresh, "signed-pkg", WHEEL3) is None


def test_compromised_index_cannot_serve_tampered_claimed_bytes(world: World) -> None:
    role = world.attacker.repo.read(claimed_project_role("signed-pkg")).signed  # type: ignore[arg-type]
    assert isinstance(role, Targets)
    target = role.targets[file_target("signed-pkg", WHEEL3)]  # type: ignore[arg-type]
    stored = world.index.data_dir / "store" / target_key(target.path, target.hashes["sha256"])
    stored.write_bytes(EVIL.ljust(target.length, b"#")[: target.length])
    for updater in world.clients("bytes"):
        with pytest.raises(LengthOrHashMismatchError):
            fetch(updater, "signed-pkg", WHEEL3)


def test_unclaimed_project_is_not_protected_against_online_key_compromise(world: World) -> None:
    """PEP 458's limit: replaced, extended and hidden with the online keys."""
    attacker, wheel2 = world.attacker, "plain_pkg-2.0-py3-none-any.whl"
    attacker.put_in_bin(file_target("plain-pkg", wheel2), EVIL)  # type: ignore[arg-type]
    attacker.put_in_bin(file_target("plain-pkg", "plain_pkg-9.0-py3-none-any.whl"), EVIL)  # type: ignore[arg-type]
    for updater in world.clients("unclaimed-replace"):
        assert fetch(updater, "plain-pkg", wheel2) == EVIL
    for updater in world.clients("unclaimed-add"):
        assert fetch(updater, "plain-pkg", "plain_pkg-9.0-py3-none-any.whl") == EVIL
    attacker.put_in_bin(file_target("plain-pkg", wheel2), None)  # type: ignore[arg-type]
    for updater in world.clients("unclaimed-hide"):
        assert fetch(updater, "plain-pkg", wheel2) is None


def test_recently_claimed_project_falls_with_the_online_keys(world: World) -> None:
    """PEP 480's table: recently-claimed is signed online until the next signing event."""
    attacker, wheel = world.attacker, "fresh_pkg-2.0-py3-none-any.whl"
    path = file_target("fresh-pkg", wheel)  # type: ignore[arg-type]

    def replace(targets: Targets) -> None:
        targets.targets[path] = attacker.serve_file(path, EVIL)

    attacker.take_over_recently_claimed(recently_claimed_project_role("fresh-pkg"), replace)  # type: ignore[arg-type]
    for updater in world.clients("recent"):
        assert fetch(updater, "fresh-pkg", wheel) == EVIL


def test_recover_rotates_online_keys_and_clients_follow(world: World) -> None:
    """After the theft: ``endorse admin recover`` (in this process) rotates the online keys
    from the last known-good snapshot; the returning client follows root v2, gets the
    good file back, and the stolen keys sign nothing any client accepts."""
    index, attacker, plain = world.index, world.attacker, "plain_pkg-2.0-py3-none-any.whl"
    good = fetch(index.updater(world.folder / "before"), "plain-pkg", plain)
    known_good = index.services.published.snapshot().signed.version
    attacker.put_in_bin(file_target("plain-pkg", plain), EVIL)  # type: ignore[arg-type]
    returning = world.folder / "returning"
    assert fetch(index.updater(returning, bootstrap=False), "plain-pkg", plain) == EVIL

    offline = str(index.data_dir / "keys" / OFFLINE_KEYRING)
    result = index.admin(
        "recover", "--known-good-snapshot", str(known_good), "--keyring", offline,
        "--requeue", "--yes",
    )  # fmt: skip
    assert "claims wiped (maintainers must claim again): fresh-pkg" in result.stdout
    path = file_target("plain-pkg", plain)  # type: ignore[arg-type]
    assert f"changed since the known-good snapshot (now undone): {path}" in result.stdout
    index.restart_publisher()  # the stolen keys' publisher was stopped for the recovery
    index.publish()

    assert fetch(index.updater(returning, bootstrap=False), "plain-pkg", plain) == good
    assert '"version":2' in (returning / "metadata" / "root.json").read_text().replace(" ", "")
    fresh = index.updater(world.folder / "fresh")
    fresh.refresh()
    info = fresh.get_targetinfo(file_target("fresh-pkg", "fresh_pkg-2.0-py3-none-any.whl"))  # type: ignore[arg-type]
    assert info is not None and info.custom == {"trust": 1}  # index-signed until re-claimed

    attacker.repo.load()
    attacker.put_in_bin(path, EVIL)
    for updater in world.clients("after-recovery"):
        with pytest.raises(UnsignedMetadataError):
            fetch(updater, "plain-pkg", plain)
