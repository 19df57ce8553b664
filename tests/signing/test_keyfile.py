"""Encrypted key files: PKCS#8 PEM, 0600, atomic, never overwritten, password via handler."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from securesystemslib.signer import Signer

from endorse.errors import EndorseError, KeyUnavailable
from endorse.signing import keyfile, register_signers
from endorse.signing.descriptor import KeyDescriptor, KeyKind, KeyLabels
from endorse.signing.keyfile import EncryptedFileSigner
from endorse.signing.secret import Secret
from endorse.signing.strength import WeakPassphrase
from tests.signing import FAST, MEDIUM, STRONG, WEAK, sign_and_verify_in_tuf

ALICE = KeyLabels(name="work", maintainer="alice", machine="alice-desktop")


def _make(path: Path, password: str = MEDIUM) -> KeyDescriptor:
    return keyfile.generate(Secret(password), ALICE, path, params=FAST)


def test_generate_then_sign_through_the_signer_interface(tmp_path: Path) -> None:
    descriptor = _make(tmp_path / "work.pem")
    assert descriptor.kind is KeyKind.FILE
    assert descriptor.uri.startswith(f"encfile:{tmp_path}/work.pem?")
    register_signers()
    signer = Signer.from_priv_key_uri(descriptor.uri, descriptor.public_key, lambda _: MEDIUM)
    assert isinstance(signer, EncryptedFileSigner)
    signature = signer.sign(b"payload")
    descriptor.public_key.verify_signature(signature, b"payload")
    sign_and_verify_in_tuf(signer, descriptor.public_key)


def test_file_is_encrypted_pkcs8_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "work.pem"
    _make(path)
    pem = path.read_bytes()
    assert pem.startswith(b"-----BEGIN " + b"ENCRYPTED PRIVATE KEY-----")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with pytest.raises(TypeError):  # cryptography: password needed
        serialization.load_pem_private_key(pem, None)
    with pytest.raises(ValueError):  # the raw password is not the PBES2 password
        serialization.load_pem_private_key(pem, MEDIUM.encode())
    assert [p.name for p in tmp_path.iterdir()] == ["work.pem"]  # no temp file left


def test_wrong_password(tmp_path: Path) -> None:
    descriptor = _make(tmp_path / "work.pem")
    with pytest.raises(KeyUnavailable) as caught:
        keyfile.load_signer(descriptor, lambda _: STRONG)
    assert caught.value.message == f"cannot unlock key {descriptor.keyid[:12]}: wrong password"


def test_secrets_handler_is_asked_for_the_password(tmp_path: Path) -> None:
    descriptor = _make(tmp_path / "work.pem")
    asked: list[str] = []

    def handler(name: str) -> str:
        asked.append(name)
        return MEDIUM

    keyfile.load_signer(descriptor, handler)
    assert asked == ["password"]


def test_weak_password_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    with pytest.raises(WeakPassphrase):
        _make(tmp_path / "work.pem", WEAK)
    assert not (tmp_path / "work.pem").exists()


def test_an_existing_key_file_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "work.pem"
    _make(path)
    before = path.read_bytes()
    with pytest.raises(EndorseError, match="already exists"):
        _make(path)
    assert path.read_bytes() == before


def test_missing_file_says_keys_are_per_machine(tmp_path: Path) -> None:
    descriptor = _make(tmp_path / "work.pem")
    (tmp_path / "work.pem").unlink()
    with pytest.raises(KeyUnavailable, match="cannot read key file") as caught:
        keyfile.load_signer(descriptor, lambda _: MEDIUM)
    assert "per machine" in (caught.value.hint or "")


def test_an_unencrypted_file_is_refused(tmp_path: Path) -> None:
    descriptor = _make(tmp_path / "work.pem")
    plain = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    (tmp_path / "work.pem").write_bytes(plain)
    with pytest.raises(KeyUnavailable, match="not encrypted"):
        keyfile.load_signer(descriptor, lambda _: MEDIUM)


def test_path_with_spaces_round_trips(tmp_path: Path) -> None:
    descriptor = _make(tmp_path / "my keys" / "work key.pem")
    keyfile.load_signer(descriptor, lambda _: MEDIUM)
