"""A threshold that counts maintainers, not keys (DESIGN rule 7).

TUF counts distinct keys, so one maintainer with two machine keys would meet a
threshold of 2 alone, and TAP 3 (multi-role delegations) is implemented
nowhere. endorse therefore:

1. registers every developer key to exactly one maintainer;
2. writes into each per-project delegation (a ``DelegatedRole`` in
   ``claimed`` or ``recently-claimed``, so it is signed by whoever signs
   that role) a map ``maintainer -> keyids`` and a maintainer threshold, as
   unrecognized fields::

       "x-endorse-maintainers": {"alice": ["k1", "k2"], "bob": ["k3"]},
       "x-endorse-maintainer-threshold": 2

3. refuses (on the index, and in endorse's own client) metadata whose valid
   signatures come from fewer than that many distinct maintainers, using only
   the signed delegation, so the check does not depend on the index;
4. sets the plain TUF ``threshold`` to the same number, so an unmodified
   ``tuf.ngclient`` still needs that many keys.

Nothing here does IO.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from securesystemslib.exceptions import UnverifiedSignatureError
from securesystemslib.signer import Key, Signature
from tuf.api.exceptions import UnsignedMetadataError
from tuf.api.metadata import DelegatedRole, Metadata, Targets

from endorse.errors import InvalidMaintainerMap, ThresholdNotMet
from endorse.metadata.delegations import MAINTAINER_THRESHOLD_FIELD, MAINTAINERS_FIELD

__all__ = [
    "MAINTAINERS_FIELD",
    "THRESHOLD_FIELD",
    "InvalidMaintainerMap",
    "MaintainerPolicy",
    "ThresholdNotMet",
    "count_maintainers",
    "verify_delegate_maintainers",
    "verify_maintainer_threshold",
]

THRESHOLD_FIELD = MAINTAINER_THRESHOLD_FIELD


def _check_one_owner(maintainers: Mapping[str, Sequence[str]]) -> None:
    owner: dict[str, str] = {}
    for maintainer, keyids in maintainers.items():
        for keyid in keyids:
            if owner.setdefault(keyid, maintainer) != maintainer:
                raise InvalidMaintainerMap(
                    f"key {keyid[:12]} is registered to both {owner[keyid]!r} and "
                    f"{maintainer!r}; a key belongs to exactly one maintainer"
                )


def count_maintainers(
    signed_bytes: bytes,
    signatures: Mapping[str, Signature],
    keys: Mapping[str, Key],
    maintainers: Mapping[str, Sequence[str]],
) -> set[str]:
    """The maintainers with at least one valid signature over ``signed_bytes``.

    ``signatures`` maps keyid to signature (``Metadata.signatures``), ``keys``
    keyid to public key, ``maintainers`` maintainer to their keyids. Invalid
    signatures and keys missing from ``keys`` count for nothing; a maintainer
    counts once however many of their keys signed.
    """
    _check_one_owner(maintainers)
    counted: set[str] = set()
    for maintainer, keyids in maintainers.items():
        for keyid in keyids:
            signature = signatures.get(keyid)
            key = keys.get(keyid)
            if signature is None or key is None:
                continue
            try:
                key.verify_signature(signature, signed_bytes)
            except UnverifiedSignatureError:
                continue
            counted.add(maintainer)
            break
    return counted


def verify_maintainer_threshold(
    signed_bytes: bytes,
    signatures: Mapping[str, Signature],
    keys: Mapping[str, Key],
    maintainers: Mapping[str, Sequence[str]],
    threshold: int,
) -> set[str]:
    """Return the maintainers who signed; raise ThresholdNotMet when fewer than ``threshold``."""
    counted = count_maintainers(signed_bytes, signatures, keys, maintainers)
    if len(counted) < threshold:
        names = ", ".join(sorted(counted)) or "nobody"
        raise ThresholdNotMet(
            f"signed by {len(counted)} of the {threshold} maintainers needed ({names})",
            maintainers=counted,
            threshold=threshold,
            hint="another maintainer must sign too; more keys of the same maintainer do not count",
        )
    return counted


@dataclass(frozen=True)
class MaintainerPolicy:
    """Who may sign a project role, grouped by maintainer, and how many maintainers must."""

    maintainers: Mapping[str, tuple[str, ...]]
    threshold: int

    def __post_init__(self) -> None:
        _check_one_owner(self.maintainers)
        if any(not keyids for keyids in self.maintainers.values()):
            raise InvalidMaintainerMap("every maintainer needs at least one key")
        if not 1 <= self.threshold <= len(self.maintainers):
            raise InvalidMaintainerMap(
                f"maintainer threshold {self.threshold} is not between 1 and the "
                f"{len(self.maintainers)} maintainers"
            )

    @property
    def keyids(self) -> list[str]:
        """Every key of every maintainer, sorted."""
        return sorted(k for keyids in self.maintainers.values() for k in keyids)

    @classmethod
    def from_role(cls, role: DelegatedRole) -> MaintainerPolicy:
        """Read and check the policy carried by a signed delegation.

        A delegation without a map has one key per maintainer (the index leaves
        the map out then, to keep ``claimed`` small): each key is a maintainer.
        """
        if MAINTAINERS_FIELD not in role.unrecognized_fields:
            return cls({f"key:{k}": (k,) for k in role.keyids}, role.threshold)
        raw_map: Any = role.unrecognized_fields.get(MAINTAINERS_FIELD)
        raw_threshold: Any = role.unrecognized_fields.get(THRESHOLD_FIELD)
        if not isinstance(raw_map, dict) or not all(
            isinstance(m, str) and isinstance(ks, list) and all(isinstance(k, str) for k in ks)
            for m, ks in raw_map.items()
        ):
            raise InvalidMaintainerMap(
                f"delegation {role.name!r} has no valid {MAINTAINERS_FIELD!r} map"
            )
        if not isinstance(raw_threshold, int) or isinstance(raw_threshold, bool):
            raise InvalidMaintainerMap(f"delegation {role.name!r} has no valid {THRESHOLD_FIELD!r}")
        policy = cls({m: tuple(ks) for m, ks in raw_map.items()}, raw_threshold)
        if set(policy.keyids) != set(role.keyids):
            raise InvalidMaintainerMap(
                f"delegation {role.name!r}: the maintainer map and the role's keyids differ"
            )
        if role.threshold != policy.threshold:
            raise InvalidMaintainerMap(
                f"delegation {role.name!r}: TUF threshold {role.threshold} differs from "
                f"the maintainer threshold {policy.threshold}"
            )
        return policy

    def apply_to(self, role: DelegatedRole) -> None:
        """Write this policy into a delegation: keyids, TUF threshold, and the two fields."""
        role.keyids = self.keyids
        role.threshold = self.threshold
        role.unrecognized_fields[MAINTAINERS_FIELD] = {
            m: sorted(ks) for m, ks in sorted(self.maintainers.items())
        }
        role.unrecognized_fields[THRESHOLD_FIELD] = self.threshold


def verify_delegate_maintainers(
    delegator: Targets, role_name: str, delegate_md: Metadata[Targets]
) -> set[str]:
    """Both checks on a project role: TUF's key threshold, then the maintainer threshold.

    Returns the maintainers who signed. Raises ThresholdNotMet (the TUF
    ``UnsignedMetadataError`` as cause when even the key threshold fails) or
    InvalidMaintainerMap.
    """
    role = delegator.get_delegated_role(role_name)
    if not isinstance(role, DelegatedRole):  # Targets only delegates DelegatedRoles
        raise InvalidMaintainerMap(f"{role_name!r} is not a delegated role")
    policy = MaintainerPolicy.from_role(role)
    payload = delegate_md.signed_bytes
    keys: dict[str, Key] = {}
    for keyid in policy.keyids:
        with contextlib.suppress(ValueError):  # a key the delegator lacks counts for nothing
            keys[keyid] = delegator.get_key(keyid)
    try:
        delegator.verify_delegate(role_name, payload, delegate_md.signatures)
    except UnsignedMetadataError as e:
        counted = count_maintainers(payload, delegate_md.signatures, keys, policy.maintainers)
        raise ThresholdNotMet(
            f"{role_name}: {e}", maintainers=counted, threshold=policy.threshold
        ) from e
    return verify_maintainer_threshold(
        payload, delegate_md.signatures, keys, policy.maintainers, policy.threshold
    )
