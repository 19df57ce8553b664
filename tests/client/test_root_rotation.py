"""Root rotation: the client follows a root the old one signed, and refuses any other."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from securesystemslib.signer import CryptoSigner
from tuf.api.metadata import Metadata, Root
from tuf.api.serialization.json import JSONSerializer

from endorse.publisher.keyring import generate_file_keys
from tests.client.conftest import build_world, endorse_install, installed, proxy, start_index
from tests.client.mirror import Mirror
from tests.conftest import pip_install
from tests.pep480 import offline_signers


def test_client_follows_rotated_root_and_refuses_one_the_old_root_did_not_sign(
    tmp_path: Path,
) -> None:
    server = start_index(tmp_path)
    mirror: Mirror | None = None
    try:
        world = build_world(server, tmp_path, full=False, fresh=False)
        cache = tmp_path / "returning"
        first, report = endorse_install(world.url, world.root, cache, tmp_path / "t0", "beta==1.0")
        assert first.returncode == 0, first.stderr
        assert report is not None and report["metadata"]["root"]["version"] == 1

        # Root v2: a second administrator, threshold 2, signed by the old and new keys.
        second = generate_file_keys(tmp_path / "admin2", ("root",))
        public = tmp_path / "admin2.pub.json"
        key = second.public_keys("root")[0]
        public.write_text(json.dumps({"keyid": key.keyid, "key": key.to_dict()}))
        prepared = server.admin(
            "event", "prepare-keys", "root", "--add-key", f"root={public}", "--threshold", "root=2"
        ).stdout
        event_id = re.search(r"signing event (\d+)", prepared).group(1)  # type: ignore[union-attr]
        exported = tmp_path / "root-event.json"
        server.admin("event", "export", event_id, str(exported))
        md = Metadata[Root].from_bytes(exported.read_bytes())
        for signer in [*offline_signers(server, "root"), *second.signers("root")]:
            md.sign(signer, append=True)
        exported.write_bytes(md.to_bytes())
        server.admin("event", "add-signatures", event_id, str(exported))
        server.admin("event", "publish", event_id)
        server.wait_published()
        deadline = time.monotonic() + 30
        while server.get("/tuf/metadata/2.root.json").status_code != 200:
            assert time.monotonic() < deadline
            time.sleep(0.2)

        # A returning client follows it (endorse install); a new client pinned to root
        # v1 too (plain pip through the proxy).
        result, report = endorse_install(world.url, world.root, cache, tmp_path / "t1", "beta==1.0")
        assert result.returncode == 0, result.stderr
        assert report is not None and report["metadata"]["root"]["version"] == 2
        with proxy(world.url, tmp_path / "new", world.root) as px:
            pip = pip_install(server, tmp_path / "t2", "beta==1.0", index_url=px.index_url)
            session = px.app.index.current()
        assert pip.returncode == 0, pip.stderr
        assert session is not None and session.status()["root"]["version"] == 2

        # Root v3 from a mirror (or a thief of one administrator's key): signed by one
        # of the two administrators v2 requires, plus a key of the attacker's own.
        v2 = Metadata[Root].from_bytes(server.get("/tuf/metadata/2.root.json").content)
        attacker = CryptoSigner.generate_ed25519()
        forged = Metadata(v2.signed)
        forged.signed.version = 3
        forged.signed.add_key(attacker.public_key, "root")
        forged.signed.roles["root"].threshold = 1
        forged.signatures.clear()
        forged.sign(offline_signers(server, "root")[0], append=True)
        forged.sign(attacker, append=True)
        mirror = Mirror(world.url)
        mirror.serve(r"/tuf/metadata/3\.root\.json$", forged.to_bytes(JSONSerializer()))
        returning_via_mirror = tmp_path / "via-mirror"
        result, _ = endorse_install(
            mirror.url, world.root, returning_via_mirror, tmp_path / "t3", "beta==1.0"
        )
        assert result.returncode == 3 and installed(tmp_path / "t3") == {}
        assert "refused the metadata of" in result.stderr
        assert "signature threshold check failed" in result.stderr and "root" in result.stderr
    finally:
        if mirror is not None:
            mirror.stop()
        server.stop()
