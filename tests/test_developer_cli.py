"""The developer and administrator commands as people run them: real ``endorse``
subprocesses with a passphrase key and a SoftHSM2 token, against a running index."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from endorse.metadata.paths import file_target
from endorse.publisher.bootstrap import OFFLINE_KEYRING
from tests.conftest import ENDORSE, IndexServer, pip_install, server_env, twine_upload
from tests.packages import make_wheel

PASSPHRASE = "gravel orbit lantern misty cactus"
SOFTHSM_MODULES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
)
#: Small Argon2id cost for tests (the defaults are stated in docs/developer-keys.md).
CHEAP_ARGON2 = ["--argon2-memory-kib", "1024", "--argon2-iterations", "1", "--argon2-lanes", "1"]


def endorse(
    *args: str, server: IndexServer, secret: str = "", env: dict[str, str] | None = None
) -> str:
    """Run an ``endorse`` command as a developer would; fail loudly on error."""
    result = subprocess.run(
        [ENDORSE, *args],
        input=secret + "\n" if secret else None,
        capture_output=True,
        text=True,
        env=server_env(
            {"ENDORSE_INDEX_URL": server.url, "ENDORSE_PASSWORD": server.token, **(env or {})}
        ),
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def run_event_offline(server: IndexServer, tmp_path: Path) -> None:
    """Prepare, export, sign on 'another machine', bring back and publish an event."""
    prepared = server.admin("event", "prepare").stdout
    event_id = re.search(r"signing event (\d+)", prepared)
    assert event_id, prepared
    exported = tmp_path / "event.json"
    server.admin("event", "export", event_id.group(1), str(exported))
    keyring = server.data_dir / "keys" / OFFLINE_KEYRING
    subprocess.run(
        [ENDORSE, "admin", "event", "sign-file", str(exported), "--keyring", str(keyring), "--yes"],
        check=True, capture_output=True, env=server_env(),
    )  # fmt: skip
    assert (
        "1 of 1 needed"
        in server.admin("event", "add-signatures", event_id.group(1), str(exported)).stdout
    )
    server.admin("event", "publish", event_id.group(1))
    server.wait_published()


def test_passphrase_key_claim_upload_event_install(server: IndexServer, tmp_path: Path) -> None:
    keys = ["--keys-dir", str(tmp_path / "keys")]
    new_key = ["key", "new", "--kind", "passphrase", "--name", "laptop", "--user", "demo"]
    made = endorse(
        *new_key, "--passphrase-stdin", *CHEAP_ARGON2, *keys, server=server, secret=PASSPHRASE
    )
    assert "strength" in made
    assert twine_upload(server, [make_wheel(tmp_path / "w", "cli-pkg", "1.0")]).returncode == 0

    claimed = endorse("claim", "cli-pkg", "--key", "laptop", "--passphrase-stdin", *keys,
                      server=server, secret=PASSPHRASE)  # fmt: skip
    assert "version 1 accepted" in claimed
    wheel = make_wheel(tmp_path / "dist", "cli-pkg", "2.0", deps=[])
    uploaded = endorse("upload", str(wheel), "--key", "laptop", "--passphrase-stdin", *keys,
                       server=server, secret=PASSPHRASE)  # fmt: skip
    assert "version 2 accepted" in uploaded

    run_event_offline(server, tmp_path)
    updater = server.updater(tmp_path / "client")
    updater.refresh()
    assert updater.get_targetinfo(file_target("cli-pkg", wheel.name)) is not None  # type: ignore[arg-type]
    assert (tmp_path / "client" / "metadata" / "p-cli-pkg.json").exists()
    result = pip_install(server, tmp_path / "target", "cli-pkg")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "target" / "cli_pkg-2.0.dist-info").is_dir()

    wrong = subprocess.run(
        [ENDORSE, "upload", str(make_wheel(tmp_path / "dist", "cli-pkg", "3.0")), "--key", "laptop",
         "--passphrase-stdin", *keys],
        input="a wrong passphrase entirely\n", capture_output=True, text=True,
        env=server_env({"ENDORSE_INDEX_URL": server.url, "ENDORSE_PASSWORD": server.token}),
    )  # fmt: skip
    assert wrong.returncode != 0
    assert "error:" in wrong.stderr


@pytest.fixture
def softhsm(tmp_path: Path) -> dict[str, str]:
    """A SoftHSM2 token (label endorse-test, PIN 1234) in a temp folder."""
    module = next((m for m in SOFTHSM_MODULES if Path(m).exists()), None)
    util = shutil.which("softhsm2-util")
    if module is None or util is None:
        pytest.skip("SoftHSM2 is not installed (apt-get install softhsm2)")
    (tmp_path / "tokens").mkdir()
    conf = tmp_path / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tmp_path / 'tokens'}\nlog.level = ERROR\n")
    env = {"SOFTHSM2_CONF": str(conf)}
    subprocess.run(
        [util, "--init-token", "--free", "--label", "endorse-test", "--pin", "1234",
         "--so-pin", "0000"],
        check=True, capture_output=True, env={**server_env(), **env},
    )  # fmt: skip
    return {"module": module, **env}


def test_token_key_signs_a_release_end_to_end(
    server: IndexServer, tmp_path: Path, softhsm: dict[str, str]
) -> None:
    """A key pair made on a PKCS#11 token (SoftHSM2) signs the project's role;
    an unmodified ngclient verifies the ECDSA signature."""
    env = {"SOFTHSM2_CONF": softhsm["SOFTHSM2_CONF"]}
    keys = ["--keys-dir", str(tmp_path / "keys")]
    endorse("key", "new", "--kind", "token", "--name", "yubikey", "--user", "demo",
            "--pkcs11-lib", softhsm["module"], "--token-label", "endorse-test", "--hsm-keyid", "21",
            "--passphrase-stdin", *keys, server=server, secret="1234", env=env)  # fmt: skip
    assert twine_upload(server, [make_wheel(tmp_path / "w", "token-pkg", "1.0")]).returncode == 0
    endorse("claim", "token-pkg", "--key", "yubikey", "--passphrase-stdin", *keys,
            server=server, secret="1234", env=env)  # fmt: skip
    wheel = make_wheel(tmp_path / "dist", "token-pkg", "2.0")
    out = endorse("upload", str(wheel), "--key", "yubikey", "--passphrase-stdin", *keys,
                  server=server, secret="1234", env=env)  # fmt: skip
    assert "version 2 accepted" in out
    server.wait_published()
    updater = server.updater(tmp_path / "client")
    updater.refresh()
    info = updater.get_targetinfo(file_target("token-pkg", wheel.name))  # type: ignore[arg-type]
    assert info is not None
    assert Path(updater.download_target(info)).read_bytes() == wheel.read_bytes()
    role = (tmp_path / "client" / "metadata" / "rc-token-pkg.json").read_text()
    assert (
        '"keytype":"ecdsa"' in role.replace(" ", "")
        or "ecdsa" in (tmp_path / "client" / "metadata" / "recently-claimed.json").read_text()
    )
