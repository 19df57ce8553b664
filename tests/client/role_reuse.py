"""An attacker who reuses role names under parents of its choosing (issue 10).

It holds every online key (timestamp, snapshot, bins, unclaimed,
recently-claimed) and runs a mirror, so it decides what each victim is
served; it holds no offline key (root, targets, claimed) and no developer
key, and serves ``targets`` and ``claimed`` byte for byte as the index signed
them. It works on its own copy of the index's store, re-signs with the stolen
keys, and leaves the index itself honest.

Its move: from an online role (recently-claimed, unclaimed or a bin) it
delegates a name the real layout already uses (``p-signed-pkg``, which the
offline ``claimed`` role gives signed-pkg's developers; ``rc-fresh-pkg``; a
bin) to a key of its own, and publishes under that name a forged role. The
snapshot lists a role name once, by version only, so the forged role carries
the genuine one's version and the mirror answers the same consistent name
(``V.p-signed-pkg.json``) with forged or genuine bytes, in the order it likes.
"""

from __future__ import annotations

import hashlib
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from packaging.utils import NormalizedName
from tuf.api.metadata import DelegatedRole, Delegations, Metadata, TargetFile, Targets

from endorse.errors import NotFound
from endorse.metadata.layout import bin_for
from endorse.metadata.paths import project_paths_pattern
from endorse.metadata.roles import UNCLAIMED, is_bin
from endorse.metadata.storage_keys import metadata_key, target_key
from endorse.storage.local import LocalBlobStore
from tests.attacks.attacker import OnlineKeyAttacker
from tests.client.mirror import Mirror
from tests.conftest import IndexServer

Order = Literal["forged-first", "genuine-first"]


class RoleReuseMirror:
    """A mirror of the index that serves the attacker's re-signed copy of ``/tuf/``."""

    def __init__(self, server: IndexServer, folder: Path) -> None:
        self.genuine = LocalBlobStore(server.data_dir / "store")
        copy = folder / "attacker-store"
        shutil.copytree(server.data_dir / "store", copy)
        self.attacker = OnlineKeyAttacker(server.data_dir, store_dir=copy)
        self.mirror = Mirror(server.url)
        self.mirror.respond(self._answer)
        self._answers: dict[str, list[bytes]] = {}
        self._served: dict[str, int] = {}

    @property
    def url(self) -> str:
        """What the victim passes as ``--index``."""
        return self.mirror.url

    def stop(self) -> None:
        """Take the mirror down."""
        self.mirror.stop()

    def next_victim(self) -> None:
        """Answer the contested names in the chosen order again, for a new client."""
        self._served.clear()

    def _answer(self, path: str) -> bytes | None:
        answers = self._answers.get(path)
        if answers is not None:
            count = self._served.get(path, 0)
            self._served[path] = count + 1
            return answers[min(count, len(answers) - 1)]
        if not path.startswith("/tuf/"):
            return None
        try:
            return self.attacker.store.get(path.removeprefix("/tuf/"))
        except NotFound:
            return None

    def evil_target(self, target_path: str, data: bytes) -> TargetFile:
        """Store the attacker's file under its consistent name."""
        target = TargetFile(len(data), {"sha256": hashlib.sha256(data).hexdigest()}, target_path)
        self.attacker.store.put(target_key(target_path, target.hashes["sha256"]), data)
        return target

    def reuse(
        self,
        name: str,
        parent: str,
        *,
        paths_of: NormalizedName,
        targets: dict[str, bytes],
        terminating: bool = False,
        order: Order = "forged-first",
        move_listing: str | None = None,
    ) -> None:
        """Delegate ``name`` from ``parent`` for ``paths_of``'s folder to the attacker's key.

        The forged ``name`` lists ``targets``. ``parent`` is recently-claimed,
        unclaimed (its succinct bins made explicit, the forged delegation first) or
        a bin. ``move_listing`` moves that target (an index-signed listing) from
        its bin into the forged role, so that a lookup of it must reach the role.
        """
        repo = self.attacker.repo
        key = self.attacker.own_key.public_key
        forged = Targets(expires=datetime.now(UTC) + timedelta(days=365))
        for path, data in targets.items():
            forged.targets[path] = self.evil_target(path, data)
        if move_listing is not None:
            unclaimed = repo.open(UNCLAIMED).signed
            assert isinstance(unclaimed, Targets)
            home = bin_for(unclaimed, move_listing)
            with repo.edit_targets(home) as bin_targets:
                forged.targets[move_listing] = bin_targets.targets.pop(move_listing)
        delegation = DelegatedRole(
            name, [key.keyid], 1, terminating, paths=[project_paths_pattern(paths_of)]
        )
        with repo.edit_targets(parent) as delegator:
            if parent == UNCLAIMED:
                delegator.delegations = _explicit_bins(delegator, delegation)
            elif delegator.delegations is None:
                delegator.delegations = Delegations({}, roles={})
            assert delegator.delegations.roles is not None
            if parent != UNCLAIMED:
                roles = {name: delegation, **delegator.delegations.roles}
                delegator.delegations.roles = roles
            delegator.delegations.keys[key.keyid] = key
        meta = repo.targets_infos.get(f"{name}.json")
        forged.version = meta.version if meta is not None else 1
        md = Metadata(forged)
        md.sign(self.attacker.own_key)
        repo.write(name, md)
        repo.do_snapshot(force=True)
        repo.do_timestamp(force=True)
        if meta is not None:  # a name the index uses: the mirror chooses which bytes go first
            url = f"/tuf/metadata/{meta.version}.{name}.json"
            genuine = self.genuine.get(metadata_key(name, meta.version))
            fake = self.attacker.store.get(metadata_key(name, meta.version))
            self._answers[url] = [fake, genuine] if order == "forged-first" else [genuine, fake]


def _explicit_bins(unclaimed: Targets, first: DelegatedRole) -> Delegations:
    """unclaimed's TAP 15 bins as explicit delegations by hash prefix, after ``first``."""
    assert unclaimed.delegations is not None
    succinct = unclaimed.delegations.succinct_roles
    assert succinct is not None and succinct.bit_length % 4 == 0
    digits = succinct.bit_length // 4
    roles = {first.name: first}
    for index, bin_name in enumerate(succinct.get_roles()):
        assert is_bin(bin_name)
        roles[bin_name] = DelegatedRole(
            bin_name,
            succinct.keyids,
            succinct.threshold,
            True,
            path_hash_prefixes=[f"{index:0{digits}x}"],
        )
    return Delegations(dict(unclaimed.delegations.keys), roles=roles)
