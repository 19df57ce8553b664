"""``endorse key``: new, list, show, endorse-machine, as a maintainer uses them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from securesystemslib.signer import Signature

from endorse.cli import main
from endorse.metadata.key_addition import verify_key_addition
from endorse.signing.keystore import Keystore
from tests.signing import FAST, MEDIUM, STRONG, WEAK

FAST_ARGS = [
    "--argon2-memory-kib", str(FAST.memory_kib),
    "--argon2-iterations", str(FAST.iterations),
    "--argon2-lanes", str(FAST.lanes),
]  # fmt: skip


@pytest.fixture
def keys_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The keystore folder, given the way a user would: ENDORSE_DEVELOPER_KEYS_DIR."""
    folder = tmp_path / "keys"
    monkeypatch.setenv("ENDORSE_DEVELOPER_KEYS_DIR", str(folder))
    return folder


def _run(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(main, ["key", *args], input=stdin)


def _new(kind: str, name: str, secret: str, *extra: str) -> Result:
    return _run(
        "new", "--kind", kind, "--name", name, "--user", "alice", "--machine", "host-a",
        "--passphrase-stdin", *FAST_ARGS, *extra, stdin=secret + "\n",
    )  # fmt: skip


def test_new_passphrase_key_shows_strength_and_stores_only_public_data(keys_dir: Path) -> None:
    result = _new("passphrase", "laptop", STRONG)
    assert result.exit_code == 0, result.output
    assert "made passphrase key 'laptop'" in result.stdout
    assert "strength: zxcvbn score 4/4" in result.stderr
    assert "weaker than the default" in result.stderr  # small test parameters say so
    stored = (keys_dir / "laptop.json").read_text()
    assert STRONG not in stored and STRONG not in result.output


def test_weak_passphrase_is_refused_with_figures_and_exit_code_1(keys_dir: Path) -> None:
    result = _new("passphrase", "laptop", WEAK)
    assert result.exit_code == 1
    assert "error: passphrase refused: zxcvbn score 0/4" in result.stderr
    assert "hint:" in result.stderr and "diceware" in result.stderr
    assert not keys_dir.exists() or not any(keys_dir.iterdir())


def test_new_file_key_and_list(keys_dir: Path) -> None:
    assert _new("file", "work", MEDIUM).exit_code == 0
    assert _new("passphrase", "laptop", STRONG).exit_code == 0
    table = _run("list")
    assert table.exit_code == 0
    assert "laptop" in table.stdout and "work" in table.stdout and "passphrase" in table.stdout
    listed = json.loads(_run("list", "--json").stdout)
    assert [d["name"] for d in listed] == ["laptop", "work"]
    assert listed[1]["uri"].startswith("encfile:")


def test_show_prints_only_the_public_half(keys_dir: Path) -> None:
    _new("passphrase", "laptop", STRONG)
    shown = json.loads(_run("show", "laptop").stdout)
    assert set(shown) == {"keyid", "key", "maintainer", "machine", "name", "created"}
    assert shown["key"]["keytype"] == "ed25519"
    assert shown["maintainer"] == "alice"


def test_existing_name_is_refused_before_asking_for_a_secret(keys_dir: Path) -> None:
    _new("passphrase", "laptop", STRONG)
    result = _new("file", "laptop", MEDIUM)
    assert result.exit_code == 1
    assert "a key named 'laptop' already exists" in result.stderr


def test_endorse_machine_from_a_public_key_file(keys_dir: Path, tmp_path: Path) -> None:
    assert _new("passphrase", "laptop", STRONG).exit_code == 0
    # The new machine has its own keystore; only its public half travels.
    desktop_dir = tmp_path / "desktop-keys"
    made = _new("file", "desktop", MEDIUM, "--keys-dir", str(desktop_dir))
    assert made.exit_code == 0, made.output
    public_file = tmp_path / "desktop.pub.json"
    public_file.write_text(_run("show", "desktop", "--keys-dir", str(desktop_dir)).stdout)

    result = _run(
        "endorse-machine", str(public_file), "--by", "laptop", "--project", "sampleproject",
        "--passphrase-stdin", stdin=STRONG + "\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["statement"]["project"] == "sampleproject"
    laptop = Keystore(keys_dir).get("laptop")
    desktop = Keystore(desktop_dir).get("desktop")
    statement = verify_key_addition(
        document["statement"], Signature.from_dict(document["signature"]), laptop.public_key
    )
    assert statement.new_key == desktop.public_key


def test_endorse_machine_with_a_wrong_passphrase(keys_dir: Path) -> None:
    _new("passphrase", "laptop", STRONG)
    _new("file", "desktop", MEDIUM)
    result = _run(
        "endorse-machine", "desktop", "--by", "laptop", "--passphrase-stdin",
        stdin="not the passphrase\n",
    )  # fmt: skip
    assert result.exit_code == 1
    keyid = Keystore(keys_dir).get("laptop").keyid[:12]
    assert f"error: cannot unlock key {keyid}: wrong passphrase" in result.stderr
    assert "hint: retry, or run `endorse key list`" in result.stderr
    assert "not the passphrase" not in result.output


def test_unknown_key(keys_dir: Path) -> None:
    result = _run("show", "nope")
    assert result.exit_code == 1
    assert "no key named 'nope'" in result.stderr


def test_token_kind_needs_a_pkcs11_module(keys_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYKCS11LIB", raising=False)
    result = _new("token", "yubikey", "1234")
    assert result.exit_code == 1
    assert "needs the PKCS#11 module" in result.stderr


def test_help_has_an_example_for_every_command() -> None:
    for command in ("new", "list", "show", "endorse-machine"):
        result = _run(command, "-h")
        assert result.exit_code == 0
        assert "Example:" in result.stdout
