"""DelegationWalker: every role verified along the path of its own lookup (issue 10).

A small repository is built in memory with python-tuf's Metadata API; the
walker downloads from a dict and keeps verified bytes in a temporary folder,
as it does in ngclient's metadata folder.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from securesystemslib.signer import CryptoSigner
from tuf.api import exceptions as tuf_errors
from tuf.api.metadata import (
    DelegatedRole,
    Delegations,
    Metadata,
    MetaFile,
    Snapshot,
    TargetFile,
    Targets,
)

from endorse.client.delegations import DelegationWalker, RoleStore, RoleWithTwoParents

BASE = "https://repo.example/metadata/"
SOON = datetime.now(UTC) + timedelta(days=1)


class Repository:
    """A top-level targets role, delegated roles as published bytes, and a snapshot."""

    def __init__(self) -> None:
        self.top = Targets(expires=SOON)
        self.roles: dict[str, Targets] = {}
        self.files: dict[str, bytes] = {}
        self.snapshot = Snapshot(expires=SOON)
        self.downloads: list[str] = []

    def delegate(
        self,
        parent: Targets,
        name: str,
        signer: CryptoSigner,
        paths: list[str],
        *,
        terminating: bool = False,
    ) -> Targets:
        if parent.delegations is None:
            parent.delegations = Delegations({}, roles={})
        assert parent.delegations.roles is not None
        key = signer.public_key
        parent.delegations.keys[key.keyid] = key
        parent.delegations.roles[name] = DelegatedRole(name, [key.keyid], 1, terminating, paths)
        return self.roles.setdefault(name, Targets(expires=SOON))

    def publish(self, name: str, signer: CryptoSigner, role: Targets | None = None) -> bytes:
        md = Metadata(role or self.roles[name])
        md.sign(signer)
        data = md.to_bytes()
        self.files[f"{BASE}{md.signed.version}.{name}.json"] = data
        self.snapshot.meta[f"{name}.json"] = MetaFile(md.signed.version)
        return data

    def download(self, url: str, max_length: int) -> bytes:
        self.downloads.append(url.removeprefix(BASE))
        try:
            return self.files[url]
        except KeyError:
            raise tuf_errors.DownloadHTTPError(f"404 {url}", 404) from None

    def walker(self, folder: Path) -> DelegationWalker:
        folder.mkdir(exist_ok=True)
        return DelegationWalker(
            targets=self.top,
            snapshot=self.snapshot,
            consistent_snapshot=True,
            store=RoleStore(folder, self.download, BASE),
            reference_time=datetime.now(UTC),
        )


def target(path: str) -> TargetFile:
    return TargetFile.from_data(path, path.encode())


@pytest.fixture
def diamond() -> tuple[Repository, CryptoSigner]:
    """tuf-conformance's diamond: parent-a and parent-b both delegate ``release``,
    each to a key of its own; ``release`` is signed by parent-a's key only."""
    repo = Repository()
    a_key, b_key = CryptoSigner.generate_ed25519(), CryptoSigner.generate_ed25519()
    parent_a = repo.delegate(repo.top, "parent-a", a_key, ["team-a/*"])
    parent_b = repo.delegate(repo.top, "parent-b", b_key, ["team-b/*"])
    release_a = CryptoSigner.generate_ed25519()
    release = repo.delegate(parent_a, "release", release_a, ["team-a/*"])
    repo.delegate(parent_b, "release", CryptoSigner.generate_ed25519(), ["team-b/*"])
    release.targets["team-a/file"] = target("team-a/file")
    release.targets["team-b/file"] = target("team-b/file")
    repo.publish("parent-a", a_key)
    repo.publish("parent-b", b_key)
    repo.publish("release", release_a)
    return repo, release_a


def test_role_found_through_its_own_parent(
    diamond: tuple[Repository, CryptoSigner], tmp_path: Path
) -> None:
    repo, _ = diamond
    found = repo.walker(tmp_path).find("team-a/file")
    assert found.target is not None and found.role is not None
    assert found.role.path == ("targets", "parent-a", "release")
    assert found.visited == ("targets", "parent-a", "release")


def test_role_reached_through_a_second_parent_refused(
    diamond: tuple[Repository, CryptoSigner], tmp_path: Path
) -> None:
    """The conformance case test_cached_role_is_verified_against_current_delegator."""
    repo, _ = diamond
    walker = repo.walker(tmp_path)
    assert walker.find("team-a/file").target is not None
    with pytest.raises(RoleWithTwoParents) as raised:
        walker.find("team-b/file")
    assert raised.value.parents == (("targets", "parent-a"), ("targets", "parent-b"))
    assert "release is delegated by two roles: parent-a" in str(raised.value)
    assert walker.find("team-a/file").target is not None  # the first parent still answers


def test_role_through_the_wrong_parent_first_fails_its_own_check(
    diamond: tuple[Repository, CryptoSigner], tmp_path: Path
) -> None:
    """The reversed order: through parent-b, release does not verify; a failed
    attempt does not make parent-b its parent."""
    repo, _ = diamond
    walker = repo.walker(tmp_path)
    with pytest.raises(tuf_errors.UnsignedMetadataError):
        walker.find("team-b/file")
    assert walker.find("team-a/file").target is not None


def test_cached_bytes_are_verified_against_this_lookups_parent(
    diamond: tuple[Repository, CryptoSigner], tmp_path: Path
) -> None:
    """A forged ``release.json`` left in the metadata folder (by another parent's
    lookup, another process, or an attacker) is never trusted by name: it fails
    parent-a's delegation and the genuine role is downloaded again."""
    repo, _ = diamond
    forged = Targets(expires=SOON, targets={"team-a/file": target("team-a/evil")})
    forged.version = repo.roles["release"].version
    md = Metadata(forged)
    md.sign(CryptoSigner.generate_ed25519())
    (tmp_path / "release.json").write_bytes(md.to_bytes())
    found = repo.walker(tmp_path).find("team-a/file")
    assert found.target == target("team-a/file")
    assert repo.downloads[-1] == "1.release.json"
    assert (tmp_path / "release.json").read_bytes() == repo.files[f"{BASE}1.release.json"]


def test_search_ends_in_a_terminating_role(tmp_path: Path) -> None:
    """Not found below a terminating delegation: the walk says which role ended it,
    and never visits the roles after it."""
    repo = Repository()
    key = CryptoSigner.generate_ed25519()
    repo.delegate(repo.top, "project", key, ["project/*"], terminating=True)
    later = repo.delegate(repo.top, "later", key, ["*"])
    later.targets["project/file"] = target("project/file")
    repo.publish("project", key)
    repo.publish("later", key)
    found = repo.walker(tmp_path).find("project/file")
    assert found.target is None and found.role is not None
    assert found.role.path == ("targets", "project") and found.role.terminating
    assert found.visited == ("targets", "project")


def test_role_at_another_version_than_snapshot_refused(tmp_path: Path) -> None:
    repo = Repository()
    key = CryptoSigner.generate_ed25519()
    repo.delegate(repo.top, "role", key, ["*"])
    repo.publish("role", key)
    repo.snapshot.meta["role.json"] = MetaFile(2)
    repo.files[f"{BASE}2.role.json"] = repo.files[f"{BASE}1.role.json"]
    with pytest.raises(tuf_errors.BadVersionNumberError):
        repo.walker(tmp_path).find("x")


def test_delegated_role_missing_from_snapshot_refused(tmp_path: Path) -> None:
    repo = Repository()
    repo.delegate(repo.top, "unlisted", CryptoSigner.generate_ed25519(), ["*"])
    with pytest.raises(tuf_errors.RepositoryError, match="not listed in snapshot"):
        repo.walker(tmp_path).find("x")


def test_at_most_max_delegations_roles_visited(tmp_path: Path) -> None:
    repo = Repository()
    key = CryptoSigner.generate_ed25519()
    for i in range(40):
        repo.delegate(repo.top, f"r{i}", key, ["*"])
        repo.publish(f"r{i}", key)
    found = repo.walker(tmp_path).find("x")
    assert found.target is None and len(found.visited) == 33  # targets + 32 delegations
