"""Passphrase keys: Ed25519 from Argon2id, nothing secret on disk, per user and per key."""

from __future__ import annotations

import json
import time
import unicodedata

import pytest
from securesystemslib.signer import Signer

from endorse.errors import KeyUnavailable
from endorse.signing import passphrase, register_signers
from endorse.signing.descriptor import KeyDescriptor, KeyKind, KeyLabels
from endorse.signing.kdf import DEFAULT_ARGON2, derive
from endorse.signing.passphrase import SALT_DOMAIN, PassphraseSigner, kdf_salt
from endorse.signing.secret import Secret
from endorse.signing.strength import WeakPassphrase
from tests.signing import FAST, MEDIUM, STRONG, WEAK, sign_and_verify_in_tuf

ALICE = KeyLabels(name="laptop", maintainer="alice", machine="alice-thinkpad")


def _make(secret: str = STRONG, labels: KeyLabels = ALICE) -> KeyDescriptor:
    return passphrase.generate(Secret(secret), labels, params=FAST)


def test_generate_then_sign_through_the_signer_interface() -> None:
    descriptor = _make()
    assert descriptor.kind is KeyKind.PASSPHRASE
    assert descriptor.uri.startswith("passphrase:argon2id?")
    assert descriptor.public_key.keytype == "ed25519"
    register_signers()
    signer = Signer.from_priv_key_uri(descriptor.uri, descriptor.public_key, lambda _: STRONG)
    assert isinstance(signer, PassphraseSigner)
    signature = signer.sign(b"release metadata")
    descriptor.public_key.verify_signature(signature, b"release metadata")
    sign_and_verify_in_tuf(signer, descriptor.public_key)


def test_secrets_handler_is_asked_for_the_passphrase() -> None:
    descriptor = _make()
    asked: list[str] = []

    def handler(name: str) -> str:
        asked.append(name)
        return STRONG

    passphrase.load_signer(descriptor, handler)
    assert asked == ["passphrase"]


def test_wrong_passphrase_is_refused_with_keyid_and_hint() -> None:
    descriptor = _make()
    with pytest.raises(KeyUnavailable) as caught:
        passphrase.load_signer(descriptor, lambda _: STRONG + "!")
    assert caught.value.message == (f"cannot unlock key {descriptor.keyid[:12]}: wrong passphrase")
    assert "endorse key list" in (caught.value.hint or "")


def test_no_secrets_handler_is_a_clear_error() -> None:
    descriptor = _make()
    with pytest.raises(KeyUnavailable, match="no passphrase was supplied"):
        PassphraseSigner.from_priv_key_uri(descriptor.uri, descriptor.public_key, None)


def test_weak_passphrase_is_refused_before_anything_is_derived() -> None:
    with pytest.raises(WeakPassphrase, match="score 0/4"):
        _make(WEAK)
    with pytest.raises(WeakPassphrase, match="at least 10\\^14 guesses"):
        _make(MEDIUM)


def test_nothing_secret_is_in_the_descriptor() -> None:
    descriptor = _make()
    stored = json.dumps(descriptor.to_dict())
    assert STRONG not in stored
    assert "private" not in stored
    assert KeyDescriptor.from_dict(json.loads(stored)) == descriptor


def test_same_passphrase_gives_different_keys_for_different_keys_of_one_user() -> None:
    first, second = _make(), _make()
    assert first.keyid != second.keyid  # a fresh random salt per key (per machine)


def test_the_username_is_part_of_the_salt() -> None:
    descriptor = _make()
    as_bob = descriptor.uri.replace("user=alice", "user=bob")
    with pytest.raises(KeyUnavailable, match="wrong passphrase"):
        PassphraseSigner.from_priv_key_uri(as_bob, descriptor.public_key, lambda _: STRONG)
    random_salt = bytes(16)
    assert kdf_salt("alice", random_salt) != kdf_salt("bob", random_salt)
    assert kdf_salt("alice", random_salt) == SALT_DOMAIN + b"\x00\x00\x05alice" + random_salt
    secret = Secret(STRONG)
    assert derive(secret, kdf_salt("alice", random_salt), FAST) != derive(
        secret, kdf_salt("bob", random_salt), FAST
    )


def test_passphrase_is_unicode_normalised() -> None:
    composed = "gr\u00e2vel orbit lantern misty cactus plume"
    decomposed = unicodedata.normalize("NFD", composed)
    assert composed != decomposed
    descriptor = _make(composed)
    passphrase.load_signer(descriptor, lambda _: decomposed)


def test_tampered_uri_is_a_clear_error() -> None:
    descriptor = _make()
    broken = descriptor.uri.replace("&m=64", "")
    with pytest.raises(KeyUnavailable, match="no valid Argon2id parameters"):
        PassphraseSigner.from_priv_key_uri(broken, descriptor.public_key, lambda _: STRONG)


def test_signer_repr_shows_no_key_material() -> None:
    signer = passphrase.load_signer(_make(), lambda _: STRONG)
    assert repr(signer).startswith("PassphraseSigner(keyid=")


def test_default_parameters_cost(capsys: pytest.CaptureFixture[str]) -> None:
    """One derivation at the defaults (256 MiB, 3 passes, 4 lanes), timed and reported."""
    start = time.perf_counter()
    derive(Secret(STRONG), kdf_salt("alice", bytes(16)), DEFAULT_ARGON2)
    elapsed = time.perf_counter() - start
    with capsys.disabled():
        print(f"\n{DEFAULT_ARGON2.describe()}: {elapsed:.2f} s per derivation")
    assert 0.05 < elapsed < 30
