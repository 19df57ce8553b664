"""Build the next version of a claimed project's role from distribution files."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from packaging.utils import NormalizedName, canonicalize_name
from securesystemslib.signer import Key, Signer
from tuf.api.metadata import Metadata, TargetFile, Targets

from endorse.api.models import ProjectResponse
from endorse.errors import EndorseError
from endorse.metadata.maintainers import count_maintainers
from endorse.metadata.paths import core_metadata_target, file_target
from endorse.packages.distributions import inspect_distribution

#: How long a developer-signed role version stays valid. Long: developers
#: sign rarely, and an expired role makes the project uninstallable.
DEFAULT_ROLE_LIFETIME = timedelta(days=365)


def claim_keys(project: ProjectResponse) -> tuple[dict[str, Key], dict[str, list[str]]]:
    """Keys and ``maintainer -> keyids`` of a claim, from the API's project answer."""
    keys: dict[str, Key] = {}
    maintainers: dict[str, list[str]] = {}
    claim = project["claim"]
    if claim is None:
        return keys, maintainers
    for maintainer, entries in claim["maintainers"].items():
        maintainers[maintainer] = []
        for entry in entries:
            key = Key.from_dict(entry["keyid"], dict(entry["key"]))
            keys[key.keyid] = key
            maintainers[maintainer].append(key.keyid)
    return keys, maintainers


def build_release(
    project: ProjectResponse,
    dists: Sequence[Path],
    *,
    previous: bytes | None,
    vouch_for_existing: bool = True,
    lifetime: timedelta = DEFAULT_ROLE_LIFETIME,
    now: datetime | None = None,
) -> Metadata[Targets]:
    """The next version of the project's role: previous targets plus ``dists``.

    ``previous`` is the role's current version (None before the first). It must
    carry signatures from enough of the claim's maintainers: a developer never
    re-signs targets a compromised index slipped in. The first version can
    vouch for the files already on the index (their hashes as the index
    reports them; check them before claiming).
    """
    claim = project["claim"]
    if not claim:
        raise EndorseError(f"{project['name']!r} is not claimed", hint="run `endorse claim` first")
    name = canonicalize_name(project["name"])
    targets: dict[str, TargetFile] = {}
    if previous is not None:
        md = Metadata[Targets].from_bytes(previous)
        keys, maintainers = claim_keys(project)
        signers = count_maintainers(md.signed_bytes, md.signatures, keys, maintainers)
        if len(signers) < claim["threshold"]:
            raise EndorseError(
                f"the current version of {name!r} is not signed by enough maintainers",
                hint="the index may be compromised: do not sign on top of it",
            )
        targets.update(md.signed.targets)
    elif vouch_for_existing:
        for f in project["files"]:
            _add_file(
                targets,
                name,
                f["filename"],
                f["size"],
                f["sha256"],
                f["core_metadata_size"],
                f["core_metadata_sha256"],
            )
    for path in dists:
        dist = inspect_distribution(path, path.name)
        if dist.name != name:
            raise EndorseError(f"{path.name!r} is not a file of {name!r}")
        core = dist.core_metadata
        _add_file(
            targets,
            name,
            dist.filename,
            dist.size,
            dist.sha256,
            len(core) if core is not None else None,
            hashlib.sha256(core).hexdigest() if core is not None else None,
        )
    moment = (now or datetime.now(UTC)).replace(microsecond=0)
    role = Targets(version=claim["version"] + 1, expires=moment + lifetime, targets=targets)
    return Metadata(role)


def _add_file(
    targets: dict[str, TargetFile],
    name: NormalizedName,
    filename: str,
    size: int,
    sha256: str,
    core_size: int | None,
    core_sha256: str | None,
) -> None:
    path = file_target(name, filename)
    targets[path] = TargetFile(size, {"sha256": sha256}, path)
    if core_size is not None and core_sha256:
        core_path = core_metadata_target(name, filename)
        targets[core_path] = TargetFile(core_size, {"sha256": core_sha256}, core_path)


def sign_release(md: Metadata[Targets], signer: Signer) -> None:
    """Add a maintainer's signature (other maintainers' signatures are kept)."""
    md.sign(signer, append=True)
