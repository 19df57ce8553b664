"""Attacks by someone who holds every online key of the index (PEP 480's table),
against clients that install through the verifying proxy.

Each test spends an index of its own: these attackers rewrite what it serves.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

from tuf.api.metadata import Metadata, Targets

from endorse.client import Policy
from endorse.developer import IndexClient, build_release, sign_release
from endorse.metadata.paths import file_target, listing_target
from endorse.metadata.roles import claimed_project_role, recently_claimed_project_role
from endorse.publisher.bootstrap import OFFLINE_KEYRING
from endorse.signing.machines import endorse_new_key
from tests.client.conftest import (
    World,
    build_world,
    endorse_install,
    installed,
    levels,
    proxy,
    start_index,
)
from tests.client.mirror import KeyHolder, Mirror
from tests.conftest import ENDORSE, pip_install, server_env, twine_upload
from tests.packages import make_wheel
from tests.pep480 import descriptor, new_signer, release, run_signing_event, wait_for_role

EVIL = "EVIL = True  # steals credentials"


def module_text(target: Path, module: str) -> str:
    return (target / module / "__init__.py").read_text()


def replace_index_signed(attacker: KeyHolder, world: World, project: str, wheel: Path) -> None:
    """Sign ``wheel`` in a bin in place of the file of the same name, and a listing
    (the index's page, edited) to match."""
    data = wheel.read_bytes()
    attacker.put_in_bin(file_target(project, wheel.name), data)  # type: ignore[arg-type]
    page = world.server.get(
        f"/simple/{project}/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}
    ).json()
    for entry in page["files"]:
        if entry["filename"] == wheel.name:
            entry["hashes"]["sha256"] = hashlib.sha256(data).hexdigest()
            entry["size"] = len(data)
    body = (json.dumps(page, sort_keys=True, separators=(",", ":")) + "\n").encode()
    attacker.put_in_bin(listing_target(project, "json"), body)  # type: ignore[arg-type]


def test_pep480_compromise_of_all_online_keys(tmp_path: Path) -> None:
    """Claimed: nothing the attacker signs is installed. Unclaimed and recently
    claimed: the attacker wins (PEP 458's limit, PEP 480's interim role), the table
    says so, and a policy refuses them."""
    server = start_index(tmp_path)
    try:
        world = build_world(server, tmp_path, full=False)
        attacker = KeyHolder(server.data_dir)
        evil = tmp_path / "evil"
        # A bin entry for the claimed project: shadowed by its terminating delegation.
        replace_index_signed(
            attacker,
            world,
            "signed-pkg",
            make_wheel(evil, "signed-pkg", "2.0", deps=["alpha"], payload=EVIL),
        )
        # The index-signed dependency, replaced with its listing.
        replace_index_signed(
            attacker,
            world,
            "alpha",
            make_wheel(evil, "alpha", "1.0", deps=["beta>=1"], payload=EVIL),
        )
        # The recently-claimed project: re-delegated to the attacker's key.
        fresh_evil = make_wheel(evil, "fresh-pkg", "2.0", payload=EVIL)
        path = file_target("fresh-pkg", fresh_evil.name)  # type: ignore[arg-type]

        def replace(targets: Targets) -> None:
            targets.targets[path] = attacker.serve_file(path, fresh_evil.read_bytes())

        attacker.take_over_recently_claimed(recently_claimed_project_role("fresh-pkg"), replace)  # type: ignore[arg-type]

        cache, t1 = tmp_path / "c", tmp_path / "t1"
        result, report = endorse_install(
            world.url, world.root, cache, t1, "signed-pkg", "fresh-pkg"
        )
        assert result.returncode == 0, result.stderr
        assert report is not None
        assert "EVIL" not in module_text(t1, "signed_pkg")
        assert "EVIL" in module_text(t1, "alpha") and "EVIL" in module_text(t1, "fresh_pkg")
        assert levels(report) == {
            "signed_pkg-2.0-py3-none-any.whl": 3,
            "alpha-1.0-py3-none-any.whl": 1,
            "beta-2.0-py3-none-any.whl": 1,
            "fresh_pkg-2.0-py3-none-any.whl": 3,
        }
        fresh = next(f for f in report["files"] if f["project"] == "fresh-pkg")
        assert "not yet protected against an index compromise" in fresh["reason"]

        # A policy that demands developer signatures stops the other two.
        policy = Policy().with_options(require_developer_signed=["alpha"], claimed_only=False)
        with proxy(world.url, cache, world.root, policy) as px:
            pip = pip_install(server, tmp_path / "t2", "signed-pkg", index_url=px.index_url)
        assert pip.returncode != 0 and installed(tmp_path / "t2") == {}
        assert "[rule: --require-developer-signed alpha]" in pip.stderr
        with proxy(world.url, cache, world.root, Policy().with_options(claimed_only=True)) as px:
            pip = pip_install(server, tmp_path / "t3", "fresh-pkg", index_url=px.index_url)
        assert pip.returncode != 0 and installed(tmp_path / "t3") == {}
        assert (
            "of fresh-pkg: the project is recently claimed" in pip.stderr
            and "[rule: --claimed-only]" in pip.stderr
        )

        # Re-signing the claimed project's own role needs its developers' keys.
        wheel3 = make_wheel(evil, "signed-pkg", "3.0", payload=EVIL)
        path3 = file_target("signed-pkg", wheel3.name)  # type: ignore[arg-type]

        def add(targets: Targets) -> None:
            targets.targets[path3] = attacker.serve_file(path3, wheel3.read_bytes())

        attacker.forge_role(claimed_project_role("signed-pkg"), add)  # type: ignore[arg-type]
        result, _ = endorse_install(world.url, world.root, cache, tmp_path / "t4", "signed-pkg")
        assert result.returncode == 3 and installed(tmp_path / "t4") == {}
        assert (
            "refused the listing of signed-pkg: signature threshold check failed" in result.stderr
        )
        assert "p-signed-pkg" in result.stderr
    finally:
        server.stop()


def test_rollback_of_snapshot_and_of_claimed_project_role_refused(tmp_path: Path) -> None:
    """A returning user has seen p-signed-pkg v2 (with 3.0). The attacker serves a
    timestamp naming an older snapshot, then a snapshot naming role v1."""
    server = start_index(tmp_path)
    try:
        world = build_world(server, tmp_path, full=False, fresh=False)
        assert world.client is not None
        old_snapshot = json.loads(
            (server.data_dir / "store" / "metadata" / "timestamp.json").read_text()
        )["signed"]["meta"]["snapshot.json"]["version"]
        wheel3 = make_wheel(tmp_path / "dist", "signed-pkg", "3.0")
        assert release(world.client, "signed-pkg", world.signer, [wheel3])["state"] == "accepted"
        wait_for_role(world.client, "signed-pkg", 2)
        server.wait_published()
        attacker = KeyHolder(server.data_dir)
        mirror = Mirror(world.url)
        try:
            returning = tmp_path / "returning"
            first, _ = endorse_install(
                mirror.url, world.root, returning, tmp_path / "t0", "signed-pkg", "--no-deps"
            )
            assert first.returncode == 0, first.stderr
            assert installed(tmp_path / "t0") == {"signed-pkg": "3.0"}

            mirror.serve(
                r"/tuf/metadata/timestamp\.json$", attacker.timestamp_for_snapshot(old_snapshot)
            )
            result, _ = endorse_install(
                mirror.url, world.root, returning, tmp_path / "t1", "signed-pkg"
            )
            assert result.returncode == 3 and installed(tmp_path / "t1") == {}
            assert "version (rollback) check failed" in result.stderr
            assert "snapshot" in result.stderr

            mirror.honest()
            role = claimed_project_role("signed-pkg")  # type: ignore[arg-type]
            assert attacker.current_version(role) == 2
            attacker.roll_back(role, 1)
            result, _ = endorse_install(
                mirror.url, world.root, returning, tmp_path / "t2", "signed-pkg"
            )
            assert result.returncode == 3 and installed(tmp_path / "t2") == {}
            assert "version (rollback) check failed" in result.stderr
            assert "p-signed-pkg" in result.stderr
        finally:
            mirror.stop()
    finally:
        server.stop()


def test_fast_forward_recovery_after_timestamp_and_snapshot_key_rotation(tmp_path: Path) -> None:
    """The attacker gets a returning user to trust timestamp and snapshot 1000
    versions ahead; real updates then look like rollbacks. `endorse admin recover`
    rotates the online keys, and the client recovers by itself."""
    server = start_index(tmp_path)
    try:
        world = build_world(server, tmp_path, full=False, fresh=False)
        store = server.data_dir / "store" / "metadata"
        known_good = json.loads((store / "timestamp.json").read_text())["signed"]["meta"][
            "snapshot.json"
        ]["version"]
        mirror = Mirror(world.url)
        cache = tmp_path / "returning"
        ok, _ = endorse_install(mirror.url, world.root, cache, tmp_path / "t0", "beta==1.0")
        assert ok.returncode == 0, ok.stderr

        attacker = KeyHolder(server.data_dir)
        for pattern, data in attacker.fast_forward(1000).items():
            mirror.serve(pattern, data)
        attacked, _ = endorse_install(mirror.url, world.root, cache, tmp_path / "t1", "beta==1.0")
        assert attacked.returncode == 0, attacked.stderr  # validly signed: trusted
        trusted = next(cache.glob("*/metadata/timestamp.json"))
        assert json.loads(trusted.read_text())["signed"]["version"] > 1000

        mirror.honest()
        stuck, _ = endorse_install(mirror.url, world.root, cache, tmp_path / "t2", "beta==1.0")
        assert stuck.returncode == 3 and "version (rollback) check failed" in stuck.stderr

        server.stop()
        recovered = subprocess.run(
            [ENDORSE, "admin", "recover", "--known-good-snapshot", str(known_good), "--keyring",
             str(server.data_dir / "keys" / OFFLINE_KEYRING), "--requeue", "--yes",
             "--data-dir", str(server.data_dir)],
            capture_output=True, text=True, env=server_env(),
        )  # fmt: skip
        assert recovered.returncode == 0, recovered.stdout + recovered.stderr
        server.start()
        server.wait_published()
        mirror.upstream = server.url

        result, report = endorse_install(
            mirror.url, world.root, cache, tmp_path / "t3", "beta==1.0"
        )
        assert result.returncode == 0, result.stderr
        assert installed(tmp_path / "t3") == {"beta": "1.0"}
        assert report is not None and report["metadata"]["root"]["version"] == 2
        assert report["metadata"]["timestamp"]["version"] < 1000
        mirror.stop()
    finally:
        server.stop()


def test_one_maintainer_with_two_keys_cannot_meet_a_threshold_of_two(tmp_path: Path) -> None:
    """duo-pkg needs 2 of its maintainers (demo: laptop and desktop keys; bob: one).
    Someone with the online keys and both of demo's machines signs a version that
    an unmodified ngclient accepts (2 keys); the client counts 1 maintainer."""
    server = start_index(tmp_path)
    try:
        world = build_world(server, tmp_path, full=False, fresh=False)
        assert twine_upload(server, [make_wheel(tmp_path / "w", "duo-pkg", "1.0")]).returncode == 0
        server.admin("user", "add", "bob", "--password-stdin", input="bob-long-password\n")
        server.admin("project", "add-member", "duo-pkg", "bob")
        demo = IndexClient(server.url, "__token__", server.token)
        bob = IndexClient(server.url, "bob", "bob-long-password")
        laptop, desktop, bob_key = world.signer, new_signer(), new_signer()  # laptop: registered
        statement, signature = endorse_new_key(
            desktop.public_key, "demo", descriptor(laptop), laptop
        )
        demo.register_key(
            desktop.public_key, label="desktop", statement=statement.to_dict(), signature=signature
        )
        bob.register_key(bob_key.public_key)
        demo.claim("duo-pkg", maintainers=["bob"], threshold=2)
        md = build_release(demo.project("duo-pkg"), [], previous=None)
        sign_release(md, laptop)
        assert demo.submit_release("duo-pkg", md.to_bytes(), [])["state"] == "pending"
        ((pending_id, pending_md),) = bob.pending("duo-pkg")
        to_sign = Metadata[Targets].from_bytes(pending_md)
        bob.cosign("duo-pkg", pending_id, [bob_key.sign(to_sign.signed_bytes)])
        wait_for_role(demo, "duo-pkg", 1)
        run_signing_event(server)

        cache = tmp_path / "c"
        ok, report = endorse_install(world.url, world.root, cache, tmp_path / "t0", "duo-pkg")
        assert ok.returncode == 0, ok.stderr
        assert report is not None
        (entry,) = report["files"]
        assert entry["role"] == "p-duo-pkg" and "2 of 2 maintainers (bob, demo)" in entry["reason"]

        attacker = KeyHolder(server.data_dir)
        wheel = make_wheel(tmp_path / "evil", "duo-pkg", "2.0", payload=EVIL)
        path = file_target("duo-pkg", wheel.name)  # type: ignore[arg-type]

        def add(targets: Targets) -> None:
            targets.targets[path] = attacker.serve_file(path, wheel.read_bytes())

        attacker.forge_role_signed_by(claimed_project_role("duo-pkg"), add, [laptop, desktop])  # type: ignore[arg-type]
        plain = server.updater(tmp_path / "plain-ngclient")
        plain.refresh()
        assert plain.get_targetinfo(path) is not None  # two keys: TUF's threshold is met
        result, _ = endorse_install(world.url, world.root, cache, tmp_path / "t1", "duo-pkg")
        assert result.returncode == 3 and installed(tmp_path / "t1") == {}
        assert "signed by 1 of the 2 maintainers needed (demo)" in result.stderr
    finally:
        server.stop()


__all__ = ["World"]
