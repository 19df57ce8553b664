"""PEP 480 end to end: developer keys, claiming, signed releases, what the index checks.

In-process (the fast tier), but for the refusal twine itself must show.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from securesystemslib.signer import CryptoSigner
from tuf.api.metadata import Metadata, Targets

from endorse.developer import IndexClient
from endorse.errors import EndorseError
from endorse.metadata.layout import bin_for
from endorse.metadata.paths import file_target
from tests.conftest import IndexServer, twine_upload
from tests.inprocess import InProcessIndex
from tests.packages import make_wheel
from tests.pep480 import offline_signers, release, sign_event, wait_for_role


@pytest.fixture
def index(tmp_path: Path) -> Iterator[InProcessIndex]:
    """A fresh in-process index, its state in a folder (the admin commands open it too)."""
    started = InProcessIndex.start(tmp_path / "index", in_memory=False)
    yield started
    started.stop()


def claim_signed_pkg(
    client: IndexClient, upload: Callable[[Path], None], folder: Path
) -> tuple[IndexClient, CryptoSigner]:
    """``signed-pkg`` with one index-signed release, then claimed by the demo user."""
    upload(make_wheel(folder, "signed-pkg", "1.0"))
    signer = CryptoSigner.generate_ed25519()
    client.register_key(signer.public_key, label="laptop")
    client.claim("signed-pkg", maintainers=[], threshold=1)
    outcome = release(client, "signed-pkg", signer, [make_wheel(folder, "signed-pkg", "2.0")])
    assert outcome["state"] == "accepted", outcome
    wait_for_role(client, "signed-pkg", 1)
    return client, signer


@pytest.fixture
def claimed(index: InProcessIndex, tmp_path: Path) -> tuple[IndexClient, CryptoSigner]:
    """``signed-pkg`` claimed on the in-process index."""

    def upload(path: Path) -> None:
        assert index.upload(path).status_code == 200

    return claim_signed_pkg(index.client(), upload, tmp_path / "w")


@pytest.fixture
def claimed_on_server(server: IndexServer, tmp_path: Path) -> tuple[IndexClient, CryptoSigner]:
    """``signed-pkg`` claimed on a real ``endorse serve`` (for twine)."""

    def upload(path: Path) -> None:
        assert twine_upload(server, [path]).returncode == 0

    client = IndexClient(server.url, "__token__", server.token)
    return claim_signed_pkg(client, upload, tmp_path / "w")


def test_signed_release_found_through_recently_claimed(
    index: InProcessIndex, claimed: tuple[IndexClient, CryptoSigner], tmp_path: Path
) -> None:
    """Both the vouched-for old file and the new one verify through rc-signed-pkg,
    never through a bin of unclaimed; the listing pip sees is built from them."""
    updater = index.updater(tmp_path / "client")
    updater.refresh()
    for filename in ("signed_pkg-1.0-py3-none-any.whl", "signed_pkg-2.0-py3-none-any.whl"):
        path = file_target("signed-pkg", filename)  # type: ignore[arg-type]
        info = updater.get_targetinfo(path)
        assert info is not None, filename
        updater.download_target(info)
    metadata_dir = tmp_path / "client" / "metadata"
    assert (metadata_dir / "rc-signed-pkg.json").exists()
    unclaimed = (
        Metadata[Targets].from_file(str(metadata_dir / "unclaimed.json")).signed
        if (metadata_dir / "unclaimed.json").exists()
        else None
    )
    if unclaimed is not None:
        assert not (metadata_dir / f"{bin_for(unclaimed, path)}.json").exists()
    listing = index.get("/simple/signed-pkg/").text
    assert "signed_pkg-2.0-py3-none-any.whl" in listing and "signed_pkg-1.0" in listing
    assert "developer-signed" in index.get("/project/signed-pkg/").text


def test_twine_upload_to_claimed_project_is_refused(
    server: IndexServer, claimed_on_server: tuple[IndexClient, CryptoSigner], tmp_path: Path
) -> None:
    result = twine_upload(server, [make_wheel(tmp_path / "w", "signed-pkg", "3.0")])
    assert result.returncode != 0
    assert "is claimed (PEP 480)" in result.stdout + result.stderr


def test_signing_event_moves_project_into_claimed(
    index: InProcessIndex, claimed: tuple[IndexClient, CryptoSigner], tmp_path: Path
) -> None:
    """After the event, the project is found through claimed/p-signed-pkg; the next
    release continues from the same version under the new role."""
    events = index.services.events
    status = events.prepare_claimed()
    assert (status.summary["moved"], status.summary["keys_changed"]) == (["signed-pkg"], [])
    assert status.signatures == 0
    with pytest.raises(EndorseError, match="signed by 0 of the 1 keys needed"):
        events.publish(status.id)
    status = sign_event(events, status.id, index.data_dir)
    assert status.signatures == 1
    events.publish(status.id)
    index.wait_published()

    client, signer = claimed
    updater = index.updater(tmp_path / "client")
    updater.refresh()
    info = updater.get_targetinfo(file_target("signed-pkg", "signed_pkg-2.0-py3-none-any.whl"))  # type: ignore[arg-type]
    assert info is not None
    metadata_dir = tmp_path / "client" / "metadata"
    assert (metadata_dir / "p-signed-pkg.json").exists()
    assert not (metadata_dir / "rc-signed-pkg.json").exists()

    outcome = release(
        client, "signed-pkg", signer, [make_wheel(tmp_path / "w", "signed-pkg", "3.0")]
    )
    assert outcome["state"] == "accepted" and outcome["version"] == 2
    wait_for_role(client, "signed-pkg", 2)
    fresh = index.updater(tmp_path / "client2")
    fresh.refresh()
    assert (
        fresh.get_targetinfo(file_target("signed-pkg", "signed_pkg-3.0-py3-none-any.whl"))
        is not None
    )  # type: ignore[arg-type]


def test_root_ceremony_with_a_threshold_of_administrators(
    index: InProcessIndex, tmp_path: Path
) -> None:
    """Root v2 adds a second administrator and a threshold of 2; it needs the old
    root key and both new ones. Clients follow it; a root v3 signed by one
    administrator is refused."""
    import json
    import re

    from tuf.api.metadata import Metadata, Root

    from endorse.publisher.keyring import generate_file_keys

    second = generate_file_keys(tmp_path / "admin2", ("root",))
    public = tmp_path / "admin2.pub.json"
    key = second.public_keys("root")[0]
    public.write_text(json.dumps({"keyid": key.keyid, "key": key.to_dict()}))
    prepared = index.admin(
        "event", "prepare-keys", "root", "--add-key", f"root={public}", "--threshold", "root=2"
    ).stdout
    assert "root: add key" in prepared and "root: threshold 2" in prepared
    event_id = re.search(r"signing event (\d+)", prepared).group(1)  # type: ignore[union-attr]
    refused = index.admin("event", "publish", event_id, check=False)
    assert refused.returncode == 1 and "keys needed" in refused.stderr

    exported = tmp_path / "root-event.json"
    index.admin("event", "export", event_id, str(exported))
    md = Metadata[Root].from_bytes(exported.read_bytes())
    for signer in [*offline_signers(index, "root"), *second.signers("root")]:
        md.sign(signer, append=True)
    exported.write_bytes(md.to_bytes())
    assert "complete" in index.admin("event", "add-signatures", event_id, str(exported)).stdout
    index.admin("event", "publish", event_id)
    index.wait_published()
    import time

    deadline = time.monotonic() + 30
    while index.get("/tuf/metadata/2.root.json").status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.2)
    updater = index.updater(tmp_path / "client")
    updater.refresh()
    trusted = Metadata[Root].from_file(str(tmp_path / "client" / "metadata" / "root.json")).signed
    assert trusted.version == 2 and trusted.roles["root"].threshold == 2

    third = index.admin("event", "prepare-keys", "root", "--threshold", "root=1").stdout
    third_id = re.search(r"signing event (\d+)", third).group(1)  # type: ignore[union-attr]
    index.admin(
        "event",
        "sign",
        third_id,
        "--keyring",
        str(index.data_dir / "keys" / "offline-DEMO-NOT-FOR-PRODUCTION.json"),
        "--kind",
        "root",
    )
    refused = index.admin("event", "publish", third_id, check=False)
    assert refused.returncode == 1 and "signed by 1 of the 2 keys needed" in refused.stderr
