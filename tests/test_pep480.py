"""PEP 480 end to end: developer keys, claiming, signed releases, what the index checks."""

from __future__ import annotations

from pathlib import Path

import pytest
from securesystemslib.signer import CryptoSigner
from tuf.api.metadata import Metadata, Targets

from endorse.developer import IndexClient
from endorse.errors import EndorseError
from endorse.metadata.layout import bin_for
from endorse.metadata.paths import file_target
from tests.conftest import IndexServer, twine_upload
from tests.packages import make_wheel
from tests.pep480 import offline_signers, release, wait_for_role


@pytest.fixture
def claimed(server: IndexServer, tmp_path: Path) -> tuple[IndexClient, CryptoSigner]:
    """``signed-pkg`` with one index-signed release, then claimed by the demo user."""
    assert twine_upload(server, [make_wheel(tmp_path / "w", "signed-pkg", "1.0")]).returncode == 0
    client = IndexClient(server.url, "__token__", server.token)
    signer = CryptoSigner.generate_ed25519()
    client.register_key(signer.public_key, label="laptop")
    client.claim("signed-pkg", maintainers=[], threshold=1)
    outcome = release(
        client, "signed-pkg", signer, [make_wheel(tmp_path / "w", "signed-pkg", "2.0")]
    )
    assert outcome["state"] == "accepted", outcome
    wait_for_role(client, "signed-pkg", 1)
    return client, signer


def test_signed_release_found_through_recently_claimed(
    server: IndexServer, claimed: tuple[IndexClient, CryptoSigner], tmp_path: Path
) -> None:
    """Both the vouched-for old file and the new one verify through rc-signed-pkg,
    never through a bin of unclaimed; the listing pip sees is built from them."""
    updater = server.updater(tmp_path / "client")
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
    listing = server.get("/simple/signed-pkg/").text
    assert "signed_pkg-2.0-py3-none-any.whl" in listing and "signed_pkg-1.0" in listing
    assert "developer-signed" in server.get("/project/signed-pkg/").text


def test_twine_upload_to_claimed_project_is_refused(
    server: IndexServer, claimed: tuple[IndexClient, CryptoSigner], tmp_path: Path
) -> None:
    result = twine_upload(server, [make_wheel(tmp_path / "w", "signed-pkg", "3.0")])
    assert result.returncode != 0
    assert "is claimed (PEP 480)" in result.stdout + result.stderr


def test_signing_event_moves_project_into_claimed(
    server: IndexServer, claimed: tuple[IndexClient, CryptoSigner], tmp_path: Path
) -> None:
    """After the event, the project is found through claimed/p-signed-pkg; the next
    release continues from the same version under the new role."""
    from endorse.repository.events import SigningEvents
    from endorse.services import Services
    from endorse.settings import Settings

    services = Services.open(Settings(data_dir=server.data_dir))
    events = SigningEvents(services.settings, services.db, services.store)
    status = events.prepare_claimed()
    assert status.summary == {"moved": ["signed-pkg"], "keys_changed": []}
    assert status.signatures == 0
    with pytest.raises(EndorseError, match="signed by 0 of the 1 keys needed"):
        events.publish(status.id)
    status = events.sign(status.id, offline_signers(server, "claimed"))
    assert status.signatures == 1
    events.publish(status.id)
    server.wait_published()
    services.close()

    client, signer = claimed
    updater = server.updater(tmp_path / "client")
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
    fresh = server.updater(tmp_path / "client2")
    fresh.refresh()
    assert (
        fresh.get_targetinfo(file_target("signed-pkg", "signed_pkg-3.0-py3-none-any.whl"))
        is not None
    )  # type: ignore[arg-type]
