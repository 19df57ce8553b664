"""Per-project delegations of claimed projects (PEP 480), and the signed map
that makes a threshold count maintainers instead of machines."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from packaging.utils import NormalizedName
from securesystemslib.exceptions import UnverifiedSignatureError
from securesystemslib.signer import Key
from tuf.api.metadata import DelegatedRole, Signature

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
    maintainer threshold; the signed maintainer map lets endorse's own checks
    refuse a version signed by several machines of one maintainer.
    """
    keyids = sorted({k.keyid for keys in maintainers.values() for k in keys})
    return DelegatedRole(
        name=role,
        keyids=keyids,
        threshold=threshold,
        terminating=True,
        paths=[project_paths_pattern(name)],
        unrecognized_fields={
            MAINTAINERS_FIELD: {
                m: sorted(k.keyid for k in keys) for m, keys in maintainers.items()
            },
            MAINTAINER_THRESHOLD_FIELD: threshold,
        },
    )


def maintainer_map(delegation: DelegatedRole) -> dict[str, list[str]]:
    """The signed ``maintainer -> keyids`` map of a delegation (empty if absent)."""
    raw: Any = delegation.unrecognized_fields.get(MAINTAINERS_FIELD, {})
    if not isinstance(raw, dict):
        return {}
    return {str(m): [str(k) for k in keyids] for m, keyids in raw.items()}


def maintainer_threshold(delegation: DelegatedRole) -> int:
    """The signed maintainer threshold (the TUF threshold when absent)."""
    raw = delegation.unrecognized_fields.get(MAINTAINER_THRESHOLD_FIELD, delegation.threshold)
    return int(raw) if isinstance(raw, int) else delegation.threshold


def signing_maintainers(
    payload: bytes,
    signatures: Mapping[str, Signature],
    keys: Mapping[str, Key],
    maintainers: Mapping[str, list[str]],
) -> set[str]:
    """Maintainers with at least one valid signature over ``payload``."""
    owner = {keyid: m for m, keyids in maintainers.items() for keyid in keyids}
    signed: set[str] = set()
    for keyid, signature in signatures.items():
        key = keys.get(keyid)
        maintainer = owner.get(keyid)
        if key is None or maintainer is None:
            continue
        try:
            key.verify_signature(signature, payload)
        except UnverifiedSignatureError:
            continue
        signed.add(maintainer)
    return signed
