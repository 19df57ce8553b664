"""Per-project delegations of claimed projects (PEP 480), and the signed map
that makes a threshold count maintainers instead of machines."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from packaging.utils import NormalizedName
from securesystemslib.signer import Key
from tuf.api.metadata import DelegatedRole, Delegations

from endorse.metadata.paths import project_paths_pattern

#: DelegatedRole field: ``{maintainer: [keyid, ...]}``, signed by the delegator.
MAINTAINERS_FIELD = "x-endorse-maintainers"
#: DelegatedRole field: distinct maintainers whose signatures a version needs.
MAINTAINER_THRESHOLD_FIELD = "x-endorse-maintainer-threshold"


def project_delegation(
    role: str,
    name: NormalizedName,
    maintainers: Mapping[str, list[Key]],
    threshold: int,
) -> DelegatedRole:
    """A terminating delegation of one project's folder to its developers' keys.

    The TUF ``threshold`` (distinct keys, what every TUF client checks) equals the
    maintainer threshold; when a maintainer has several machine keys, the signed
    maintainer map lets endorse's own checks refuse a version signed by several
    machines of one maintainer.
    """
    keyids = sorted({k.keyid for keys in maintainers.values() for k in keys})
    extra: dict[str, Any] = {}
    # With one key per maintainer, keys and maintainers count the same: the map
    # would only add about 140 bytes per project to ``claimed``.
    if any(len(keys) > 1 for keys in maintainers.values()):
        extra = {
            MAINTAINERS_FIELD: {
                m: sorted(k.keyid for k in keys) for m, keys in maintainers.items()
            },
            MAINTAINER_THRESHOLD_FIELD: threshold,
        }
    return DelegatedRole(
        name=role,
        keyids=keyids,
        threshold=threshold,
        terminating=True,
        paths=[project_paths_pattern(name)],
        unrecognized_fields=extra,
    )


def drop_unused_keys(delegations: Delegations) -> None:
    """Keep only the keys that some delegated role still names (no stale key stays trusted)."""
    roles = delegations.roles or {}
    used = {keyid for role in roles.values() for keyid in role.keyids}
    delegations.keys = {keyid: key for keyid, key in delegations.keys.items() if keyid in used}
