"""What the index checks on a signed release (PEP 480), and thresholds that count
maintainers, not machines. In-process (the fast tier): the developer client and an
unmodified ngclient talk to the web app without a socket."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from securesystemslib.signer import CryptoSigner
from tuf.api.exceptions import UnsignedMetadataError
from tuf.api.metadata import Metadata, TargetFile, Targets

from endorse.developer import IndexClient, build_release, sign_release
from endorse.errors import EndorseError
from endorse.metadata.paths import file_target
from endorse.signing.machines import endorse_new_key
from tests.inprocess import InProcessIndex
from tests.packages import make_wheel
from tests.pep480 import descriptor, new_signer, wait_for_role


@pytest.fixture
def index(tmp_path: Path) -> Iterator[InProcessIndex]:
    """A fresh in-process index, its state in a folder (the admin commands open it too)."""
    started = InProcessIndex.start(tmp_path / "index", in_memory=False)
    yield started
    started.stop()


@pytest.fixture
def project(index: InProcessIndex, tmp_path: Path) -> tuple[IndexClient, CryptoSigner]:
    """``checked-pkg`` claimed by the demo user with one key, at role version 1."""
    assert index.upload(make_wheel(tmp_path / "w", "checked-pkg", "1.0")).status_code == 200
    client = index.client()
    signer = new_signer()
    client.register_key(signer.public_key)
    client.claim("checked-pkg", maintainers=[], threshold=1)
    md = build_release(client.project("checked-pkg"), [], previous=None)
    sign_release(md, signer)
    assert client.submit_release("checked-pkg", md.to_bytes(), [])["state"] == "accepted"
    wait_for_role(client, "checked-pkg", 1)
    return client, signer


def stored_files(index: InProcessIndex) -> set[str]:
    return {key.rsplit("/", 1)[1] for key in index.blob_keys("targets/")}


Mutation = Callable[[Metadata[Targets], list[Path], Path], tuple[bytes, list[Path]]]


def _signed(md: Metadata[Targets], signer: CryptoSigner) -> bytes:
    md.signatures.clear()
    sign_release(md, signer)
    return md.to_bytes()


CASES: dict[str, tuple[str, int]] = {
    "unregistered-key": ("not a registered key of a maintainer", 403),
    "bad-signature": ("does not verify", 403),
    "no-signature": ("carries no signature", 403),
    "expired": ("expired at", 400),
    "same-version": ("version must increase by one: got 1", 400),
    "skipped-version": ("version must increase by one: got 3", 400),
    "outside-paths": ("outside the project's delegated paths", 400),
    "hash-mismatch": ("disagree", 400),
    "file-not-signed": ("is not in the signed metadata", 400),
    "target-without-file": ("neither uploaded nor already on the index", 400),
    "core-metadata-unsigned": ("needs its core metadata signed too", 400),
    "listing-signed": ("listings are built from the signed files", 400),
    "malformed": ("not valid TUF targets metadata", 400),
    "delegates": ("may not delegate further", 400),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_release_refused_and_nothing_stored(
    index: InProcessIndex, project: tuple[IndexClient, CryptoSigner], tmp_path: Path, case: str
) -> None:
    client, signer = project
    wheel = make_wheel(tmp_path / "new", "checked-pkg", "2.0")
    md = build_release(
        client.project("checked-pkg"), [wheel], previous=client.role_metadata("rc-checked-pkg", 1)
    )
    files = [wheel]
    path = file_target("checked-pkg", wheel.name)  # type: ignore[arg-type]
    if case == "unregistered-key":
        data = _signed(md, new_signer())
    elif case == "bad-signature":
        data_md = Metadata[Targets].from_bytes(_signed(md, signer))
        data_md.signed.targets[path].length += 1
        data = data_md.to_bytes()
    elif case == "no-signature":
        data = md.to_bytes()
    elif case == "expired":
        md.signed.expires = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
        data = _signed(md, signer)
    elif case in ("same-version", "skipped-version"):
        md.signed.version = 1 if case == "same-version" else 3
        data = _signed(md, signer)
    elif case == "outside-paths":
        other = file_target("other-pkg", "other_pkg-1.0-py3-none-any.whl")  # type: ignore[arg-type]
        md.signed.targets[other] = TargetFile(1, {"sha256": "0" * 64}, other)
        data = _signed(md, signer)
    elif case == "hash-mismatch":
        md.signed.targets[path] = TargetFile(
            md.signed.targets[path].length, {"sha256": "f" * 64}, path
        )
        data = _signed(md, signer)
    elif case == "file-not-signed":
        extra = make_wheel(tmp_path / "new", "checked-pkg", "2.1")
        files.append(extra)
        data = _signed(md, signer)
    elif case == "target-without-file":
        files = []
        data = _signed(md, signer)
    elif case == "core-metadata-unsigned":
        del md.signed.targets[path + ".metadata"]
        data = _signed(md, signer)
    elif case == "listing-signed":
        listing = file_target("checked-pkg", "index.html")  # type: ignore[arg-type]
        md.signed.targets[listing] = TargetFile(1, {"sha256": "0" * 64}, listing)
        data = _signed(md, signer)
    elif case == "malformed":
        data = b'{"signed": {"_type": "targets"}, "signatures": []}'
    elif case == "delegates":
        from tuf.api.metadata import Delegations

        md.signed.delegations = Delegations(keys={}, roles={})
        data = _signed(md, signer)
    else:  # pragma: no cover
        raise AssertionError(case)
    before_files = stored_files(index)
    before_listing = index.get("/simple/checked-pkg/").text
    message, status = CASES[case]
    with pytest.raises(EndorseError) as refused:
        client.submit_release("checked-pkg", data, files)
    assert message in refused.value.message, refused.value.message
    assert getattr(refused.value, "status", 403) == status
    assert stored_files(index) == before_files
    assert client.project("checked-pkg")["claim"]["version"] == 1
    assert index.get("/simple/checked-pkg/").text == before_listing


def test_non_maintainer_cannot_submit(
    index: InProcessIndex, project: tuple[IndexClient, CryptoSigner], tmp_path: Path
) -> None:
    index.admin("user", "add", "mallory", "--password-stdin", input="mallory-long-pw\n")
    client = index.client("mallory", "mallory-long-pw")
    with pytest.raises(EndorseError, match="not a maintainer of the claim"):
        client.submit_release("checked-pkg", b"{}", [])


def test_one_maintainer_with_two_machines_cannot_meet_threshold_two(
    index: InProcessIndex, tmp_path: Path
) -> None:
    """Threshold 2 counts maintainers: alice's two machine keys make one signer;
    a stolen key of hers publishes nothing; bob's co-signature publishes."""
    assert index.upload(make_wheel(tmp_path / "w", "duo-pkg", "1.0")).status_code == 200
    index.admin("user", "add", "bob", "--password-stdin", input="bob-long-password\n")
    index.admin("project", "add-member", "duo-pkg", "bob")
    alice = index.client()
    bob = index.client("bob", "bob-long-password")
    laptop, desktop, bob_key = new_signer(), new_signer(), new_signer()
    alice.register_key(laptop.public_key, label="laptop")
    statement, signature = endorse_new_key(desktop.public_key, "demo", descriptor(laptop), laptop)
    alice.register_key(
        desktop.public_key, label="desktop", statement=statement.to_dict(), signature=signature
    )
    with pytest.raises(EndorseError, match="needs a signature by one of your registered keys"):
        alice.register_key(new_signer().public_key)
    bob.register_key(bob_key.public_key)
    info = alice.claim("duo-pkg", maintainers=["bob"], threshold=2)["claim"]
    assert info["threshold"] == 2 and sorted(info["maintainers"]) == ["bob", "demo"]

    md = build_release(alice.project("duo-pkg"), [], previous=None)
    sign_release(md, laptop)
    sign_release(md, desktop)
    outcome = alice.submit_release("duo-pkg", md.to_bytes(), [])
    assert outcome["state"] == "pending" and outcome["signed_by"] == ["demo"]
    assert "rc-duo-pkg" not in index.get("/tuf/metadata/timestamp.json").text

    ((pending_id, pending_md),) = bob.pending("duo-pkg")
    to_sign = Metadata[Targets].from_bytes(pending_md)
    signature = bob_key.sign(to_sign.signed_bytes)
    outcome = bob.cosign("duo-pkg", pending_id, [signature])
    assert outcome["state"] == "accepted" and outcome["signed_by"] == ["bob", "demo"]
    wait_for_role(alice, "duo-pkg", 1)

    # A thief with alice's laptop key alone: the release waits, nothing is published.
    wheel = make_wheel(tmp_path / "w", "duo-pkg", "2.0")
    evil = build_release(
        alice.project("duo-pkg"), [wheel], previous=alice.role_metadata("rc-duo-pkg", 1)
    )
    sign_release(evil, laptop)
    assert alice.submit_release("duo-pkg", evil.to_bytes(), [wheel])["state"] == "pending"
    updater = index.updater(tmp_path / "client")
    updater.refresh()
    assert updater.get_targetinfo(file_target("duo-pkg", wheel.name)) is None  # type: ignore[arg-type]
    assert (
        updater.get_targetinfo(file_target("duo-pkg", "duo_pkg-1.0-py3-none-any.whl")) is not None
    )  # type: ignore[arg-type]
    rc = Metadata[Targets].from_file(
        str(tmp_path / "client" / "metadata" / "recently-claimed.json")
    )
    delegation = rc.signed.delegations.roles["rc-duo-pkg"]  # type: ignore[union-attr, index]
    assert delegation.threshold == 2
    assert delegation.unrecognized_fields["x-endorse-maintainer-threshold"] == 2
    assert sorted(delegation.unrecognized_fields["x-endorse-maintainers"]) == ["bob", "demo"]


def test_revoked_key_no_longer_signs(
    index: InProcessIndex, project: tuple[IndexClient, CryptoSigner], tmp_path: Path
) -> None:
    """A maintainer revokes a lost machine's key: the recently-claimed delegation drops
    it in the next batch, the index refuses its signatures, and until a remaining key
    re-signs the role, clients refuse the role (availability gives way to safety)."""
    client, signer = project
    spare = new_signer()
    statement, signature = endorse_new_key(spare.public_key, "demo", descriptor(signer), signer)
    client.register_key(spare.public_key, statement=statement.to_dict(), signature=signature)
    assert client.revoke_key(signer.public_key.keyid) == ["checked-pkg"]
    index.wait_published()
    old_file = file_target("checked-pkg", "checked_pkg-1.0-py3-none-any.whl")  # type: ignore[arg-type]
    updater = index.updater(tmp_path / "client")
    updater.refresh()
    with pytest.raises(UnsignedMetadataError):
        updater.get_targetinfo(old_file)
    rc = Metadata[Targets].from_file(
        str(tmp_path / "client" / "metadata" / "recently-claimed.json")
    )
    delegation = rc.signed.delegations.roles["rc-checked-pkg"]  # type: ignore[union-attr, index]
    assert delegation.keyids == [spare.public_key.keyid]

    wheel = make_wheel(tmp_path / "w", "checked-pkg", "2.0")
    previous = client.role_metadata("rc-checked-pkg", 1)
    with pytest.raises(EndorseError, match="not signed by enough maintainers"):
        build_release(client.project("checked-pkg"), [wheel], previous=previous)
    stale = build_release(client.project("checked-pkg"), [wheel], previous=None)
    sign_release(stale, signer)
    with pytest.raises(EndorseError, match=re.escape(signer.public_key.keyid[:12])):
        client.submit_release("checked-pkg", stale.to_bytes(), [wheel])

    resigned = build_release(client.project("checked-pkg"), [wheel], previous=None)
    sign_release(resigned, spare)
    assert client.submit_release("checked-pkg", resigned.to_bytes(), [wheel])["state"] == "accepted"
    wait_for_role(client, "checked-pkg", 2)
    fresh = index.updater(tmp_path / "client2")
    fresh.refresh()
    assert fresh.get_targetinfo(old_file) is not None
    assert fresh.get_targetinfo(file_target("checked-pkg", wheel.name)) is not None  # type: ignore[arg-type]


def test_stolen_password_cannot_replace_revoked_keys(
    index: InProcessIndex, project: tuple[IndexClient, CryptoSigner], tmp_path: Path
) -> None:
    """With every key of an account revoked, its credentials alone register nothing:
    an administrator does, after checking with the maintainer out of band. A
    project-scoped token never manages keys."""
    client, signer = project
    scoped = index.admin("token", "create", "demo", "--project", "checked-pkg").stdout.strip()
    with pytest.raises(EndorseError, match="project-scoped token cannot manage developer keys"):
        index.client("__token__", scoped).register_key(new_signer().public_key)
    client.revoke_key(signer.public_key.keyid)
    thief = new_signer()
    with pytest.raises(EndorseError, match="every key of this account was revoked"):
        client.register_key(thief.public_key)
    replacement = new_signer()
    public = tmp_path / "new.pub.json"
    public.write_text(
        json.dumps({"keyid": replacement.public_key.keyid, "key": replacement.public_key.to_dict()})
    )
    assert "registered key" in index.admin("register-key", "demo", str(public), "--yes").stdout
    md = build_release(client.project("checked-pkg"), [], previous=None)
    sign_release(md, replacement)
    assert client.submit_release("checked-pkg", md.to_bytes(), [])["state"] == "accepted"


def test_compromised_key_of_claimed_project_removed_in_next_event(
    index: InProcessIndex, project: tuple[IndexClient, CryptoSigner], tmp_path: Path
) -> None:
    """An administrator revokes a developer key of a claimed project: the index
    refuses it at once, and the next signing event takes it out of `claimed`."""
    from tests.pep480 import run_signing_event

    client, signer = project
    assert run_signing_event(index)["moved"] == ["checked-pkg"]
    spare = new_signer()
    statement, signature = endorse_new_key(spare.public_key, "demo", descriptor(signer), signer)
    client.register_key(spare.public_key, statement=statement.to_dict(), signature=signature)
    # Not yet in the published `claimed`: a release signed only by it is refused.
    wheel = make_wheel(tmp_path / "w", "checked-pkg", "2.0")
    early = build_release(
        client.project("checked-pkg"), [wheel], previous=client.role_metadata("p-checked-pkg", 1)
    )
    sign_release(early, spare)
    with pytest.raises(EndorseError, match="not a registered key of a maintainer"):
        client.submit_release("checked-pkg", early.to_bytes(), [wheel])

    index.admin("revoke-key", signer.public_key.keyid, "--yes")
    assert run_signing_event(index)["keys_changed"] == ["checked-pkg"]
    updater = index.updater(tmp_path / "client")
    updater.refresh()
    with pytest.raises(UnsignedMetadataError):  # v1 was signed by the revoked key only
        updater.get_targetinfo(file_target("checked-pkg", "checked_pkg-1.0-py3-none-any.whl"))  # type: ignore[arg-type]
    claimed = Metadata[Targets].from_file(str(tmp_path / "client" / "metadata" / "claimed.json"))
    assert claimed.signed.delegations.roles["p-checked-pkg"].keyids == [spare.public_key.keyid]  # type: ignore[union-attr, index]
    resigned = build_release(client.project("checked-pkg"), [wheel], previous=None)
    sign_release(resigned, spare)
    assert client.submit_release("checked-pkg", resigned.to_bytes(), [wheel])["state"] == "accepted"
    wait_for_role(client, "checked-pkg", 2)
    fresh = index.updater(tmp_path / "client2")
    fresh.refresh()
    assert fresh.get_targetinfo(file_target("checked-pkg", wheel.name)) is not None  # type: ignore[arg-type]
