"""Helpers for PEP 480 tests: signed releases, waiting for publication, offline keys."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from securesystemslib.signer import CryptoSigner, Signer

from endorse.developer import IndexClient, build_release, sign_release
from endorse.errors import EndorseError
from endorse.index.events import EventStatus, SigningEvents
from endorse.publisher.bootstrap import OFFLINE_KEYRING
from endorse.publisher.keyring import Keyring
from endorse.services.index import Services
from endorse.settings import Settings
from endorse.signing.descriptor import KeyDescriptor, KeyKind
from tests.conftest import IndexServer
from tests.inprocess import InProcessIndex


def wait_for_role(
    client: IndexClient, name: str, version: int, timeout: float = 30
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        project = client.project(name)
        claim = project["claim"]
        try:
            client.role_metadata(claim["role"], version)
            return project
        except EndorseError:
            time.sleep(0.2)
    raise TimeoutError(f"{name} v{version} not published")


def release(client: IndexClient, name: str, signer: Signer, files: list[Path]) -> dict[str, Any]:
    project = client.project(name)
    claim = project["claim"]
    previous = client.role_metadata(claim["role"], claim["version"]) if claim["version"] else None
    md = build_release(project, files, previous=previous)
    sign_release(md, signer)
    return client.submit_release(name, md.to_bytes(), files)


def offline_signers(server: IndexServer | InProcessIndex, kind: str) -> list[Signer]:
    """The demo index's offline keys (administrators hold these in real life)."""
    return Keyring.load(server.data_dir / "keys" / OFFLINE_KEYRING).signers(kind)


def sign_event(events: SigningEvents, event_id: int, data_dir: Path) -> EventStatus:
    """The demo administrators sign a ``claimed`` event with their offline key."""
    keyring = Keyring.load(data_dir / "keys" / OFFLINE_KEYRING)
    return events.add_signatures(
        event_id, keyring.add_signatures("claimed", events.metadata(event_id))
    )


def run_signing_event(server: IndexServer | InProcessIndex) -> dict[str, Any]:
    """Prepare, sign (demo claimed key) and publish a signing event; wait for it."""
    if isinstance(server, InProcessIndex):
        return server.signing_event()
    services = Services.open(Settings(data_dir=server.data_dir))
    try:
        events = services.events
        status = events.prepare_claimed()
        sign_event(events, status.id, server.data_dir)
        events.publish(status.id)
    finally:
        services.close()
    server.wait_published()
    return {k: status.summary[k] for k in ("moved", "keys_changed")}


def descriptor(signer: CryptoSigner, maintainer: str = "demo") -> KeyDescriptor:
    """A key descriptor for a test key (as ``endorse key new`` would record it)."""
    return KeyDescriptor(
        name=signer.public_key.keyid[:8],
        kind=KeyKind.FILE,
        uri="file2:/nonexistent",
        public_key=signer.public_key,
        maintainer=maintainer,
        machine="test",
        created=datetime.now(UTC).replace(microsecond=0),
    )


def new_signer() -> CryptoSigner:
    """A fresh Ed25519 developer key."""
    return CryptoSigner.generate_ed25519()


__all__ = ["Path", "release", "wait_for_role"]
