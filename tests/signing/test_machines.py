"""Adding a new machine's key: a statement signed by a registered key of the same maintainer."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from securesystemslib.signer import CryptoSigner, Signature, Signer

from endorse.errors import EndorseError
from endorse.metadata.key_addition import (
    ADD_KEY_TYPE,
    KeyAddition,
    KeyAdditionInvalid,
    verify_key_addition,
)
from endorse.signing import keyfile, passphrase
from endorse.signing.descriptor import KeyDescriptor, KeyLabels
from endorse.signing.machines import endorse_new_key
from endorse.signing.secret import Secret
from tests.signing import FAST, MEDIUM, STRONG

WHEN = datetime(2025, 1, 31, 12, 0, tzinfo=UTC)


@pytest.fixture
def laptop() -> tuple[KeyDescriptor, Signer]:
    """Alice's registered key: a passphrase key on her laptop."""
    labels = KeyLabels("laptop", "alice", "alice-laptop")
    descriptor = passphrase.generate(Secret(STRONG), labels, params=FAST)
    return descriptor, passphrase.load_signer(descriptor, lambda _: STRONG)


@pytest.fixture
def desktop(tmp_path: Path) -> KeyDescriptor:
    """Alice's new machine: a key file on her desktop."""
    labels = KeyLabels("desktop", "alice", "alice-desktop")
    return keyfile.generate(Secret(MEDIUM), labels, tmp_path / "desktop.pem", params=FAST)


def _endorse(
    laptop: tuple[KeyDescriptor, Signer], desktop: KeyDescriptor, project: str | None = None
) -> tuple[KeyAddition, Signature]:
    by, signer = laptop
    return endorse_new_key(
        desktop.public_key, desktop.maintainer, by, signer, project=project, created=WHEN
    )


def test_statement_signed_by_an_existing_key_verifies(
    laptop: tuple[KeyDescriptor, Signer], desktop: KeyDescriptor
) -> None:
    statement, signature = _endorse(laptop, desktop, project="sampleproject")
    assert statement.to_dict() == {
        "type": ADD_KEY_TYPE,
        "maintainer": "alice",
        "project": "sampleproject",
        "new_key": {"keyid": desktop.keyid, "key": desktop.public_key.to_dict()},
        "created": "2025-01-31T12:00:00Z",
    }
    checked = verify_key_addition(statement, signature, laptop[0].public_key, maintainer="alice")
    assert checked.new_key == desktop.public_key


def test_statement_verifies_after_a_trip_through_json(
    laptop: tuple[KeyDescriptor, Signer], desktop: KeyDescriptor
) -> None:
    statement, signature = _endorse(laptop, desktop)
    wire = json.loads(json.dumps({"statement": statement.to_dict(), "sig": signature.to_dict()}))
    verify_key_addition(wire["statement"], Signature.from_dict(wire["sig"]), laptop[0].public_key)


def _tampered(statement: KeyAddition, change: dict[str, Any]) -> dict[str, Any]:
    data = copy.deepcopy(statement.to_dict())
    data.update(change)
    return data


@pytest.mark.parametrize(
    "change",
    [{"maintainer": "mallory"}, {"project": "otherproject"}, {"created": "2030-01-01T00:00:00Z"}],
)
def test_any_change_to_the_statement_breaks_the_signature(
    laptop: tuple[KeyDescriptor, Signer], desktop: KeyDescriptor, change: dict[str, Any]
) -> None:
    statement, signature = _endorse(laptop, desktop)
    with pytest.raises(KeyAdditionInvalid, match="does not verify"):
        verify_key_addition(_tampered(statement, change), signature, laptop[0].public_key)


def test_a_swapped_new_key_breaks_the_signature(
    laptop: tuple[KeyDescriptor, Signer], desktop: KeyDescriptor
) -> None:
    statement, signature = _endorse(laptop, desktop)
    mallory = CryptoSigner.generate_ed25519().public_key
    swapped = {"new_key": {"keyid": mallory.keyid, "key": mallory.to_dict()}}
    with pytest.raises(KeyAdditionInvalid, match="does not verify"):
        verify_key_addition(_tampered(statement, swapped), signature, laptop[0].public_key)


def test_signature_by_another_key_is_refused(
    laptop: tuple[KeyDescriptor, Signer], desktop: KeyDescriptor
) -> None:
    statement, _ = _endorse(laptop, desktop)
    intruder = CryptoSigner.generate_ed25519()
    forged = intruder.sign(statement.signed_bytes())
    with pytest.raises(KeyAdditionInvalid):
        verify_key_addition(statement, forged, laptop[0].public_key)


def test_a_keyid_that_is_not_the_keys_hash_is_refused(
    laptop: tuple[KeyDescriptor, Signer], desktop: KeyDescriptor
) -> None:
    statement, _ = _endorse(laptop, desktop)
    data = statement.to_dict()
    data["new_key"]["keyid"] = laptop[0].keyid[::-1]
    with pytest.raises(KeyAdditionInvalid, match="is not the SHA-256"):
        verify_key_addition(data, laptop[1].sign(b"irrelevant"), laptop[0].public_key)


def test_wrong_maintainer_is_refused(
    laptop: tuple[KeyDescriptor, Signer], desktop: KeyDescriptor
) -> None:
    statement, signature = _endorse(laptop, desktop)
    with pytest.raises(KeyAdditionInvalid, match="not to 'bob'"):
        verify_key_addition(statement, signature, laptop[0].public_key, maintainer="bob")


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"type": "endorse/add-key/v0"},
        {"type": ADD_KEY_TYPE, "maintainer": "alice", "extra": 1},
    ],
)
def test_malformed_statements_are_refused(data: dict[str, Any]) -> None:
    with pytest.raises(KeyAdditionInvalid, match="malformed"):
        KeyAddition.from_dict(data)


def test_a_key_of_another_maintainer_cannot_endorse(
    laptop: tuple[KeyDescriptor, Signer], desktop: KeyDescriptor
) -> None:
    by, signer = laptop
    with pytest.raises(EndorseError, match="same maintainer"):
        endorse_new_key(desktop.public_key, "bob", by, signer)


def test_a_key_cannot_endorse_itself(laptop: tuple[KeyDescriptor, Signer]) -> None:
    by, signer = laptop
    with pytest.raises(EndorseError, match="cannot endorse itself"):
        endorse_new_key(by.public_key, "alice", by, signer)
    statement = KeyAddition("alice", by.public_key, WHEN)
    with pytest.raises(KeyAdditionInvalid, match="cannot endorse itself"):
        verify_key_addition(statement, signer.sign(statement.signed_bytes()), by.public_key)
