"""A threshold of 2 counts two maintainers, not two machines of one maintainer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from securesystemslib.signer import CryptoSigner, Key, Signature, Signer
from tuf.api.metadata import DelegatedRole, Delegations, Metadata, Targets

from endorse.metadata.maintainers import (
    MAINTAINERS_FIELD,
    THRESHOLD_FIELD,
    InvalidMaintainerMap,
    MaintainerPolicy,
    ThresholdNotMet,
    count_maintainers,
    verify_delegate_maintainers,
    verify_maintainer_threshold,
)

PAYLOAD = b"canonical bytes of a project role"


@pytest.fixture(scope="module")
def signers() -> dict[str, Signer]:
    """Alice has a laptop and a desktop key; Bob has one key."""
    return {
        name: CryptoSigner.generate_ed25519()
        for name in ("alice-laptop", "alice-desktop", "bob-laptop")
    }


def _keys(signers: dict[str, Signer]) -> dict[str, Key]:
    return {s.public_key.keyid: s.public_key for s in signers.values()}


def _maintainers(signers: dict[str, Signer]) -> dict[str, list[str]]:
    def keyid(name: str) -> str:
        return signers[name].public_key.keyid

    return {"alice": [keyid("alice-laptop"), keyid("alice-desktop")], "bob": [keyid("bob-laptop")]}


def _sign(signers: dict[str, Signer], *names: str) -> dict[str, Signature]:
    sigs = [signers[n].sign(PAYLOAD) for n in names]
    return {s.keyid: s for s in sigs}


def test_one_maintainer_with_two_machine_keys_cannot_meet_a_threshold_of_two(
    signers: dict[str, Signer],
) -> None:
    signatures = _sign(signers, "alice-laptop", "alice-desktop")
    assert len(signatures) == 2  # two valid keys: plain TUF would count 2
    counted = count_maintainers(PAYLOAD, signatures, _keys(signers), _maintainers(signers))
    assert counted == {"alice"}
    with pytest.raises(ThresholdNotMet, match="signed by 1 of the 2 maintainers") as caught:
        verify_maintainer_threshold(PAYLOAD, signatures, _keys(signers), _maintainers(signers), 2)
    assert caught.value.maintainers == {"alice"}


def test_two_maintainers_meet_a_threshold_of_two(signers: dict[str, Signer]) -> None:
    signatures = _sign(signers, "alice-desktop", "bob-laptop")
    assert verify_maintainer_threshold(
        PAYLOAD, signatures, _keys(signers), _maintainers(signers), 2
    ) == {"alice", "bob"}


def test_invalid_and_unknown_signatures_count_for_nothing(signers: dict[str, Signer]) -> None:
    bob = signers["bob-laptop"]
    stranger = CryptoSigner.generate_ed25519()
    signatures = _sign(signers, "alice-laptop")
    signatures[bob.public_key.keyid] = bob.sign(b"something else")
    signatures[stranger.public_key.keyid] = stranger.sign(PAYLOAD)
    counted = count_maintainers(PAYLOAD, signatures, _keys(signers), _maintainers(signers))
    assert counted == {"alice"}


def test_a_key_registered_to_two_maintainers_is_refused(signers: dict[str, Signer]) -> None:
    maintainers = _maintainers(signers)
    maintainers["bob"].append(maintainers["alice"][0])
    with pytest.raises(InvalidMaintainerMap, match="exactly one maintainer"):
        count_maintainers(PAYLOAD, {}, _keys(signers), maintainers)


# --- inside python-tuf: the map travels in the signed delegation -------------------------


def _delegator(signers: dict[str, Signer], threshold: int = 2) -> Targets:
    delegator = Targets(expires=datetime.now(UTC) + timedelta(days=1))
    role = DelegatedRole("sampleproject", [], 1, True, paths=["sampleproject/*"])
    policy = MaintainerPolicy({m: tuple(ks) for m, ks in _maintainers(signers).items()}, threshold)
    policy.apply_to(role)
    delegator.delegations = Delegations(keys=_keys(signers), roles={role.name: role})
    # Through bytes, as a client receives it (the fields are unrecognized to TUF).
    md = Metadata(delegator)
    return Metadata[Targets].from_bytes(md.to_bytes()).signed


def _project_md(signers: dict[str, Signer], *names: str) -> Metadata[Targets]:
    md = Metadata(Targets(expires=datetime.now(UTC) + timedelta(days=1)))
    for name in names:
        md.sign(signers[name], append=True)
    return md


def test_policy_is_written_into_the_delegation(signers: dict[str, Signer]) -> None:
    role = _delegator(signers).get_delegated_role("sampleproject")
    assert isinstance(role, DelegatedRole)
    assert role.threshold == 2  # plain TUF threshold too: unmodified ngclient needs 2 keys
    assert role.unrecognized_fields[THRESHOLD_FIELD] == 2
    assert set(role.unrecognized_fields[MAINTAINERS_FIELD]) == {"alice", "bob"}
    assert MaintainerPolicy.from_role(role).threshold == 2


def test_tuf_alone_accepts_two_machines_of_one_maintainer_endorse_does_not(
    signers: dict[str, Signer],
) -> None:
    delegator = _delegator(signers)
    md = _project_md(signers, "alice-laptop", "alice-desktop")
    delegator.verify_delegate("sampleproject", md.signed_bytes, md.signatures)  # TUF: fine
    with pytest.raises(ThresholdNotMet, match="1 of the 2 maintainers"):
        verify_delegate_maintainers(delegator, "sampleproject", md)


def test_two_maintainers_pass_both_checks(signers: dict[str, Signer]) -> None:
    md = _project_md(signers, "alice-laptop", "bob-laptop")
    assert verify_delegate_maintainers(_delegator(signers), "sampleproject", md) == {
        "alice",
        "bob",
    }


def test_below_the_tuf_key_threshold_fails_with_tufs_error_as_cause(
    signers: dict[str, Signer],
) -> None:
    md = _project_md(signers, "bob-laptop")
    with pytest.raises(ThresholdNotMet) as caught:
        verify_delegate_maintainers(_delegator(signers), "sampleproject", md)
    assert type(caught.value.__cause__).__name__ == "UnsignedMetadataError"
    assert caught.value.maintainers == {"bob"}


def test_a_delegation_without_the_map_counts_each_key_as_a_maintainer(
    signers: dict[str, Signer],
) -> None:
    """The index leaves the map out when every maintainer has one key: then keys and
    maintainers are the same thing, and the TUF threshold is the maintainer threshold."""
    delegator = _delegator(signers)
    role = delegator.get_delegated_role("sampleproject")
    role.unrecognized_fields.pop(MAINTAINERS_FIELD)
    policy = MaintainerPolicy.from_role(role)  # type: ignore[arg-type]
    assert policy.threshold == role.threshold
    assert sorted(k for ks in policy.maintainers.values() for k in ks) == sorted(role.keyids)
    assert all(len(ks) == 1 for ks in policy.maintainers.values())


def test_tuf_threshold_must_equal_the_maintainer_threshold(signers: dict[str, Signer]) -> None:
    delegator = _delegator(signers)
    role = delegator.get_delegated_role("sampleproject")
    role.threshold = 1
    with pytest.raises(InvalidMaintainerMap, match="differs from the maintainer threshold"):
        MaintainerPolicy.from_role(role)  # type: ignore[arg-type]


def test_map_must_cover_exactly_the_roles_keys(signers: dict[str, Signer]) -> None:
    delegator = _delegator(signers)
    role = delegator.get_delegated_role("sampleproject")
    role.keyids.append(CryptoSigner.generate_ed25519().public_key.keyid)
    with pytest.raises(InvalidMaintainerMap, match="keyids differ"):
        MaintainerPolicy.from_role(role)  # type: ignore[arg-type]


@pytest.mark.parametrize("threshold", [0, 3])
def test_threshold_must_be_between_one_and_the_number_of_maintainers(
    signers: dict[str, Signer], threshold: int
) -> None:
    with pytest.raises(InvalidMaintainerMap, match="not between 1 and the 2 maintainers"):
        MaintainerPolicy({m: tuple(ks) for m, ks in _maintainers(signers).items()}, threshold)
