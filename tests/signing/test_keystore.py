"""The local keystore: one descriptor per key, private folder, no overwrite, one interface."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from endorse.errors import EndorseError, KeyUnavailable, NotFound
from endorse.signing import keyfile, passphrase
from endorse.signing.descriptor import KeyDescriptor, KeyLabels
from endorse.signing.keystore import Keystore, load_signer
from endorse.signing.secret import Secret
from tests.signing import FAST, MEDIUM, STRONG, sign_and_verify_in_tuf


def _passphrase_key(name: str = "laptop") -> KeyDescriptor:
    return passphrase.generate(Secret(STRONG), KeyLabels(name, "alice", "host"), params=FAST)


def test_add_get_and_list(tmp_path: Path) -> None:
    keystore = Keystore(tmp_path / "keys")
    laptop = _passphrase_key("laptop")
    work = keyfile.generate(
        Secret(MEDIUM), KeyLabels("work", "alice", "host"), keystore.key_file_path("work"),
        params=FAST,
    )  # fmt: skip
    keystore.add(laptop)
    keystore.add(work)
    assert keystore.get("laptop") == laptop
    assert [d.name for d in keystore.descriptors()] == ["laptop", "work"]
    folder = tmp_path / "keys"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert sorted(p.name for p in folder.iterdir()) == ["laptop.json", "work.json", "work.pem"]


def test_a_name_is_never_reused(tmp_path: Path) -> None:
    keystore = Keystore(tmp_path)
    keystore.add(_passphrase_key())
    with pytest.raises(EndorseError, match="already exists"):
        keystore.check_free("laptop")
    with pytest.raises(EndorseError, match="already exists"):
        keystore.add(_passphrase_key())


def test_unknown_key_names_the_folder_and_a_next_step(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="no key named 'nope'") as caught:
        Keystore(tmp_path).get("nope")
    assert "endorse key list" in (caught.value.hint or "")
    assert Keystore(tmp_path / "missing").descriptors() == []


@pytest.mark.parametrize("name", ["", "../etc/passwd", "a/b", ".hidden", "x" * 65, "k.json"])
def test_key_names_are_safe_file_names(tmp_path: Path, name: str) -> None:
    with pytest.raises(EndorseError, match="invalid key name"):
        Keystore(tmp_path).get(name)


def test_malformed_descriptor_is_reported(tmp_path: Path) -> None:
    (tmp_path / "laptop.json").write_text(json.dumps({"type": "something-else"}))
    with pytest.raises(EndorseError, match="malformed key descriptor"):
        Keystore(tmp_path).get("laptop")


def test_load_signer_goes_through_signer_from_priv_key_uri(tmp_path: Path) -> None:
    keystore = Keystore(tmp_path)
    keystore.add(_passphrase_key())
    descriptor = keystore.get("laptop")
    signer = load_signer(descriptor, lambda _: STRONG)
    sign_and_verify_in_tuf(signer, descriptor.public_key)
    with pytest.raises(KeyUnavailable, match="wrong passphrase"):
        load_signer(descriptor, lambda _: "not it")


def test_unknown_uri_scheme_is_key_unavailable() -> None:
    descriptor = _passphrase_key()
    broken = KeyDescriptor(**{**descriptor.__dict__, "uri": "nosuchscheme:x"})
    with pytest.raises(KeyUnavailable, match="Unsupported private key scheme"):
        load_signer(broken, lambda _: STRONG)


@pytest.mark.subprocess  # a fresh interpreter shows what importing registers
def test_importing_endorse_registers_no_uri_scheme() -> None:
    """Registration happens in one explicit call (signing/_register.py), never at import."""
    code = (
        "import endorse.signing, endorse.cli\n"
        "from securesystemslib.signer import SIGNER_FOR_URI_SCHEME as t\n"
        "assert 'passphrase' not in t and 'encfile' not in t, sorted(t)\n"
        "endorse.signing.register_signers(); endorse.signing.register_signers()\n"
        "assert t['passphrase'] is endorse.signing.PassphraseSigner\n"
        "assert t['encfile'] is endorse.signing.EncryptedFileSigner\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
