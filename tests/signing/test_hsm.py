"""Hardware-token keys on a real SoftHSM2 token, through securesystemslib's HSMSigner."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from securesystemslib.signer import HSMSigner, Signature, Signer

from endorse.cli import main
from endorse.errors import EndorseError, KeyUnavailable
from endorse.metadata.key_addition import KeyAddition, verify_key_addition
from endorse.signing import hsm, register_signers
from endorse.signing.descriptor import KeyKind, KeyLabels
from endorse.signing.hsm import TokenSlot, pkcs11_module
from endorse.signing.keystore import Keystore, load_signer
from endorse.signing.machines import sign_key_addition
from endorse.signing.secret import Secret
from tests.signing import sign_and_verify_in_tuf

pkcs11 = pytest.importorskip("pkcs11", reason="python-pkcs11 (endorse[hsm]) is not installed")

SOFTHSM_MODULES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
)
LABEL = "endorse-test"
PIN = "1234"
ALICE = KeyLabels(name="yubikey", maintainer="alice", machine="alice-thinkpad")


@pytest.fixture(scope="module")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A SoftHSM2 token 'endorse-test' (user PIN 1234) in a temp dir; yields the module path.

    Module-scoped: the PKCS#11 module is loaded once per process and reads
    SOFTHSM2_CONF only then.
    """
    module = next((m for m in SOFTHSM_MODULES if Path(m).exists()), None)
    util = shutil.which("softhsm2-util")
    if module is None or util is None:
        pytest.skip("SoftHSM2 is not installed (apt-get install softhsm2)")
    folder = tmp_path_factory.mktemp("softhsm")
    (folder / "tokens").mkdir()
    conf = folder / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {folder / 'tokens'}\nlog.level = ERROR\n")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOFTHSM2_CONF", str(conf))
        subprocess.run(
            [util, "--init-token", "--free", "--label", LABEL, "--pin", PIN, "--so-pin", "0000"],
            check=True,
            capture_output=True,
        )
        yield module


def test_key_pair_is_made_on_the_token_and_signs_for_python_tuf(softhsm: str) -> None:
    descriptor = hsm.generate(TokenSlot(softhsm, LABEL, 10), Secret(PIN), ALICE)
    assert descriptor.kind is KeyKind.TOKEN
    assert descriptor.uri == f"hsm:10?label={LABEL}"
    assert descriptor.public_key.scheme == "ecdsa-sha2-nistp256"
    assert descriptor.pkcs11_module == softhsm

    signer = Signer.from_priv_key_uri(descriptor.uri, descriptor.public_key, lambda _: PIN)
    assert isinstance(signer, HSMSigner)
    with pkcs11_module(softhsm):
        signature = signer.sign(b"payload")
        descriptor.public_key.verify_signature(signature, b"payload")
        sign_and_verify_in_tuf(signer, descriptor.public_key)


def test_private_key_never_leaves_the_token(softhsm: str) -> None:
    hsm.generate(TokenSlot(softhsm, LABEL, 11), Secret(PIN), ALICE)
    token = pkcs11.lib(softhsm).get_token(token_label=LABEL)
    with token.open(user_pin=PIN) as session:
        private = session.get_key(pkcs11.ObjectClass.PRIVATE_KEY, id=pkcs11.util.biginteger(11))
        assert private[pkcs11.Attribute.SENSITIVE] is True
        assert private[pkcs11.Attribute.EXTRACTABLE] is False
        assert private[pkcs11.Attribute.LOCAL] is True  # generated on the token


def test_an_occupied_key_id_is_refused_then_usable_with_use_existing(softhsm: str) -> None:
    slot = TokenSlot(softhsm, LABEL, 12)
    first = hsm.generate(slot, Secret(PIN), ALICE)
    with pytest.raises(EndorseError, match="already holds a key with id 12"):
        hsm.generate(slot, Secret(PIN), ALICE)
    again = hsm.generate(slot, Secret(PIN), ALICE, use_existing=True)
    assert again.public_key == first.public_key


def test_wrong_pin_when_signing_is_key_unavailable(softhsm: str) -> None:
    descriptor = hsm.generate(TokenSlot(softhsm, LABEL, 13), Secret(PIN), ALICE)
    signer = hsm.load_signer(descriptor, lambda _: "9999")
    statement = KeyAddition("alice", descriptor.public_key, descriptor.created)
    with pkcs11_module(softhsm), pytest.raises(KeyUnavailable, match="wrong PIN"):
        sign_key_addition(statement, signer)


def test_signing_without_a_pkcs11_module_says_so(
    softhsm: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    descriptor = hsm.generate(TokenSlot(softhsm, LABEL, 19), Secret(PIN), ALICE)
    monkeypatch.delenv(hsm.PYKCS11LIB, raising=False)
    signer = hsm.load_signer(descriptor, lambda _: PIN)
    statement = KeyAddition("alice", descriptor.public_key, descriptor.created)
    with pytest.raises(KeyUnavailable, match="PYKCS11LIB"):
        sign_key_addition(statement, signer)


def test_wrong_pin_when_generating(softhsm: str) -> None:
    with pytest.raises(KeyUnavailable, match="wrong PIN"):
        hsm.generate(TokenSlot(softhsm, LABEL, 14), Secret("9999"), ALICE)


def test_unknown_token_label(softhsm: str) -> None:
    with pytest.raises(KeyUnavailable, match="no PKCS#11 token 'nope'"):
        hsm.generate(TokenSlot(softhsm, "nope", 15), Secret(PIN), ALICE)


def test_pkcs11_module_restores_the_environment(
    softhsm: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(hsm.PYKCS11LIB, "/previous.so")
    with pkcs11_module(softhsm):
        assert os.environ[hsm.PYKCS11LIB] == softhsm
    assert os.environ[hsm.PYKCS11LIB] == "/previous.so"


def test_keystore_loads_a_token_key_through_the_one_interface(softhsm: str, tmp_path: Path) -> None:
    keystore = Keystore(tmp_path / "keys")
    keystore.add(hsm.generate(TokenSlot(softhsm, LABEL, 16), Secret(PIN), ALICE))
    descriptor = keystore.get("yubikey")
    register_signers()
    signer = load_signer(descriptor, lambda _: PIN)
    with pkcs11_module(softhsm):
        descriptor.public_key.verify_signature(signer.sign(b"x"), b"x")


def test_cli_makes_a_token_key_and_endorses_a_new_machine_with_it(
    softhsm: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(hsm.PYKCS11LIB, raising=False)
    runner = CliRunner()
    keys = ["--keys-dir", str(tmp_path / "keys")]
    made = runner.invoke(
        main,
        [
            "key", "new", "--kind", "token", "--name", "yubikey", "--user", "alice",
            "--pkcs11-lib", softhsm, "--token-label", LABEL, "--hsm-keyid", "17",
            "--passphrase-stdin", *keys,
        ],
        input=PIN + "\n",
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    assert "made token key 'yubikey'" in made.stdout

    other = Keystore(tmp_path / "desktop")
    desktop = hsm.generate(TokenSlot(softhsm, LABEL, 18), Secret(PIN), ALICE)
    other.add(desktop)
    public_file = tmp_path / "desktop.pub.json"
    public_file.write_text(json.dumps(desktop.public_dict()))

    # The module path comes from the descriptor: no --pkcs11-lib, no PYKCS11LIB.
    endorsed = runner.invoke(
        main,
        [
            "key", "endorse-machine", str(public_file), "--by", "yubikey",
            "--passphrase-stdin", *keys,
        ],
        input=PIN + "\n",
    )  # fmt: skip
    assert endorsed.exit_code == 0, endorsed.output
    document = json.loads(endorsed.stdout)
    existing = Keystore(tmp_path / "keys").get("yubikey")
    statement = verify_key_addition(
        document["statement"], Signature.from_dict(document["signature"]), existing.public_key
    )
    assert statement.new_key == desktop.public_key
