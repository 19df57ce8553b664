"""StoredRepository.do_snapshot: our shortcut must keep python-tuf's guarantees."""

from __future__ import annotations

from pathlib import Path

import pytest
from tuf.api.metadata import MetaFile, Root, Snapshot

from endorse.clock import SystemClock
from endorse.metadata.roles import SNAPSHOT, TIMESTAMP
from endorse.publisher.bootstrap import OFFLINE_KEYRING, generate_file_keys
from endorse.publisher.keyring import Keyring
from endorse.publisher.repository import StoredRepository
from endorse.services.demo import ensure_repository
from endorse.services.index import Services
from endorse.services.publishing import online_keyring
from endorse.settings import Settings


def open_repository(tmp_path: Path) -> tuple[StoredRepository, Keyring, Keyring]:
    settings = Settings(data_dir=tmp_path / "index", bin_count=4)
    services = Services.open(settings)
    ensure_repository(services)
    online = online_keyring(services)
    offline = Keyring.load(settings.keys_dir / OFFLINE_KEYRING)
    repo = StoredRepository(
        services.store,
        Keyring({**online.entries, **offline.entries}),
        settings.expiry,
        SystemClock(),
    )
    repo.load()
    return repo, online, offline


def test_nothing_changed_writes_no_snapshot(tmp_path: Path) -> None:
    repo, _, _ = open_repository(tmp_path)
    version = repo.open(SNAPSHOT).signed.version
    assert repo.do_snapshot() == (False, {})
    assert not repo.was_written(SNAPSHOT)
    assert repo.open(SNAPSHOT).signed.version == version


def test_a_newer_role_version_is_listed_and_the_old_entry_returned(tmp_path: Path) -> None:
    repo, _, _ = open_repository(tmp_path)
    old = repo.targets_infos["bin-0.json"]
    repo.targets_infos["bin-0.json"] = MetaFile(old.version + 1)
    updated, removed = repo.do_snapshot()
    assert updated
    assert removed == {"bin-0.json": old}
    assert repo.open(SNAPSHOT).signed.meta["bin-0.json"].version == old.version + 1


def test_a_role_version_going_back_is_refused(tmp_path: Path) -> None:
    repo, _, _ = open_repository(tmp_path)
    repo.targets_infos["bin-0.json"] = MetaFile(repo.targets_infos["bin-0.json"].version + 1)
    repo.do_snapshot()
    repo.targets_infos["bin-0.json"] = MetaFile(1)
    with pytest.raises(ValueError, match=r"bin-0\.json version rollback"):
        repo.do_snapshot()


def test_a_rotated_snapshot_key_gets_a_new_snapshot_without_force(tmp_path: Path) -> None:
    """python-tuf notices the rotation by verifying; we by key ids. Same outcome."""
    repo, online, offline = open_repository(tmp_path)
    new = generate_file_keys(tmp_path / "new-keys", ("snapshot",))
    repo.keyring = Keyring(
        {**online.entries, **offline.entries, "snapshot": new.entries["snapshot"]}
    )
    with repo.edit_root() as root:
        for keyid in list(root.roles[SNAPSHOT].keyids):
            root.revoke_key(keyid, SNAPSHOT)
        root.add_key(new.public_keys("snapshot")[0], SNAPSHOT)

    updated, _ = repo.do_snapshot()
    repo.do_timestamp()

    assert updated
    snapshot = repo.open(SNAPSHOT)
    assert list(snapshot.signatures) == [new.public_keys("snapshot")[0].keyid]
    root_signed = repo.open("root").signed
    assert isinstance(root_signed, Root) and isinstance(snapshot.signed, Snapshot)
    root_signed.verify_delegate(SNAPSHOT, snapshot.signed_bytes, snapshot.signatures)
    assert repo.open(TIMESTAMP).signed.snapshot_meta.version == snapshot.signed.version
