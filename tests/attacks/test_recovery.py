"""Recovery after the online keys were stolen (PEP 480): rotate, wipe, re-sign.

Clients that trusted the attacker's metadata follow the new root, drop the
cached timestamp and snapshot (fast-forward recovery), and get the known-good
files again; the stolen keys sign nothing clients accept any more.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from tuf.api.exceptions import UnsignedMetadataError
from tuf.api.metadata import Metadata, Timestamp
from tuf.ngclient import Updater

from endorse.developer import IndexClient
from endorse.metadata.paths import file_target
from endorse.publisher.bootstrap import OFFLINE_KEYRING
from tests.attacks.attacker import OnlineKeyAttacker
from tests.conftest import ENDORSE, IndexServer, server_env, twine_upload
from tests.packages import make_wheel
from tests.pep480 import new_signer, release, run_signing_event, wait_for_role

EVIL = b"evil"
PLAIN = "plain_pkg-1.0-py3-none-any.whl"


def updater_at(server: IndexServer, folder: Path) -> Updater:
    """A client that keeps its trusted metadata in ``folder`` across runs."""
    return Updater(
        metadata_dir=str(folder / "metadata"),
        metadata_base_url=f"{server.url}/tuf/metadata/",
        target_base_url=f"{server.url}/tuf/targets/",
        target_dir=str(folder / "targets"),
        bootstrap=None,
    )


def installed(updater: Updater, project: str, filename: str) -> bytes | None:
    updater.refresh()
    info = updater.get_targetinfo(file_target(project, filename))  # type: ignore[arg-type]
    return Path(updater.download_target(info)).read_bytes() if info else None


def test_recover_rotates_online_keys_and_clients_follow(
    server: IndexServer, tmp_path: Path
) -> None:
    w = tmp_path / "w"
    plain = make_wheel(w, "plain-pkg", "1.0")
    assert twine_upload(server, [plain, make_wheel(w, "signed-pkg", "1.0"),
                                 make_wheel(w, "fresh-pkg", "1.0")]).returncode == 0  # fmt: skip
    client = IndexClient(server.url, "__token__", server.token)
    signer = new_signer()
    client.register_key(signer.public_key)
    client.claim("signed-pkg", maintainers=[], threshold=1)
    release(client, "signed-pkg", signer, [make_wheel(w, "signed-pkg", "2.0")])
    wait_for_role(client, "signed-pkg", 1)
    run_signing_event(server)
    client.claim("fresh-pkg", maintainers=[], threshold=1)
    release(client, "fresh-pkg", signer, [make_wheel(w, "fresh-pkg", "2.0")])
    wait_for_role(client, "fresh-pkg", 1)
    store = server.data_dir / "store"
    known_good = (
        Metadata[Timestamp]
        .from_bytes((store / "metadata" / "timestamp.json").read_bytes())
        .signed.snapshot_meta.version
    )

    returning = tmp_path / "returning"
    server.updater(returning)  # first use: bootstraps from the served root v1
    assert installed(updater_at(server, returning), "plain-pkg", PLAIN) == plain.read_bytes()

    attacker = OnlineKeyAttacker(server.data_dir)  # holds the online keys from now on
    attacker.put_in_bin(file_target("plain-pkg", PLAIN), EVIL)  # type: ignore[arg-type]
    assert installed(updater_at(server, returning), "plain-pkg", PLAIN) == EVIL  # the compromise

    server.stop()
    result = subprocess.run(
        [ENDORSE, "admin", "recover", "--known-good-snapshot", str(known_good), "--keyring",
         str(server.data_dir / "keys" / OFFLINE_KEYRING), "--requeue", "--yes",
         "--data-dir", str(server.data_dir)],
        capture_output=True, text=True, env=server_env(),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "claims wiped (maintainers must claim again): fresh-pkg" in result.stdout
    assert (
        f"changed since the known-good snapshot (now undone): {file_target('plain-pkg', PLAIN)}"
        in result.stdout
    )  # type: ignore[arg-type]
    server.start()
    server.wait_published()

    # The returning client trusted the attacker's timestamp and snapshot; it follows root v2.
    fixed = updater_at(server, returning)
    assert installed(fixed, "plain-pkg", PLAIN) == plain.read_bytes()
    assert '"version":2' in (returning / "metadata" / "root.json").read_text().replace(" ", "")
    assert installed(updater_at(server, returning), "signed-pkg", "signed_pkg-2.0-py3-none-any.whl")
    fresh_client = server.updater(tmp_path / "fresh")
    fresh_client.refresh()
    info = fresh_client.get_targetinfo(file_target("fresh-pkg", "fresh_pkg-2.0-py3-none-any.whl"))  # type: ignore[arg-type]
    assert info is not None and info.custom == {"trust": 1}  # index-signed again until re-claimed

    # The stolen keys are worthless now.
    attacker.repo.load()
    attacker.put_in_bin(file_target("plain-pkg", PLAIN), EVIL)  # type: ignore[arg-type]
    copy = tmp_path / "returning-copy"
    shutil.copytree(returning, copy)
    with pytest.raises(UnsignedMetadataError):
        installed(updater_at(server, copy), "plain-pkg", PLAIN)
    with pytest.raises(UnsignedMetadataError):
        installed(server.updater(tmp_path / "new-user"), "plain-pkg", PLAIN)
