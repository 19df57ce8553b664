"""The one-pass signer must produce python-tuf's canonical bytes exactly."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from securesystemslib.signer import CryptoSigner
from tuf.api.metadata import (
    DelegatedRole,
    Delegations,
    Metadata,
    MetaFile,
    Snapshot,
    TargetFile,
    Targets,
)
from tuf.api.serialization.json import CanonicalJSONSerializer

from endorse.publisher.canonical import canonical_bytes, metadata_bytes, sign_metadata

EXPIRES = datetime(2030, 1, 1, tzinfo=UTC)


def targets_with(path: str, custom: object = None) -> Targets:
    target = TargetFile(
        12, {"sha256": "ab" * 32}, path, unrecognized_fields={"custom": custom or {"trust": 1}}
    )
    return Targets(version=3, expires=EXPIRES, targets={path: target})


@pytest.mark.parametrize(
    "path",
    [
        "0a1b/plain/plain-1.0-py3-none-any.whl",
        "0a1b/accent/accént-1.0.tar.gz",  # UTF-8, not escaped by either encoder
        "0a1b/emoji/\N{SNAKE}-1.0.tar.gz",
        '0a1b/quote/q"uote-1.0.tar.gz',  # escaped: takes securesystemslib's path
        "0a1b/back/back\\slash-1.0.tar.gz",
        "0a1b/control/tab\there-1.0.tar.gz",  # json escapes, canonical does not
        "0a1b/nul/nul\x00-1.0.tar.gz",
        "0a1b/line/sep\u2028-1.0.tar.gz",
    ],
)
def test_canonical_bytes_match_python_tuf(path: str) -> None:
    signed = targets_with(path, {"trust": 3, "note": path})
    assert canonical_bytes(signed) == CanonicalJSONSerializer().serialize(signed)


def test_snapshot_at_scale_matches_python_tuf() -> None:
    meta = {f"bin-{i:04x}.json": MetaFile(i % 7 + 1) for i in range(4096)}
    meta["targets.json"] = MetaFile(4, 977, {"sha256": "cd" * 32})
    signed = Snapshot(version=9, expires=EXPIRES, meta=meta)
    assert canonical_bytes(signed) == CanonicalJSONSerializer().serialize(signed)


def test_signed_file_verifies_and_round_trips() -> None:
    signers = [CryptoSigner.generate_ed25519(), CryptoSigner.generate_ecdsa()]
    md = Metadata(targets_with("0a1b/accent/accént-1.0.tar.gz"))
    signed_bytes = sign_metadata(md, signers)
    data = metadata_bytes(md, signed_bytes)

    parsed = Metadata[Targets].from_bytes(data)
    assert parsed.signed_bytes == signed_bytes
    assert set(parsed.signatures) == {s.public_key.keyid for s in signers}
    for signer in signers:
        signer.public_key.verify_signature(parsed.signatures[signer.public_key.keyid], signed_bytes)
    assert parsed.to_dict() == md.to_dict()


def test_resigning_replaces_old_signatures() -> None:
    md = Metadata(targets_with("0a1b/plain/plain-1.0-py3-none-any.whl"))
    sign_metadata(md, [CryptoSigner.generate_ed25519()])
    second = CryptoSigner.generate_ed25519()
    sign_metadata(md, [second])
    assert list(md.signatures) == [second.public_key.keyid]


def test_envelope_with_unknown_fields_falls_back_to_python_tuf() -> None:
    md = Metadata(targets_with("0a1b/plain/plain-1.0-py3-none-any.whl"))
    md.unrecognized_fields["x-extra"] = "kept"
    signed_bytes = sign_metadata(md, [CryptoSigner.generate_ed25519()])
    parsed = Metadata[Targets].from_bytes(metadata_bytes(md, signed_bytes))
    assert parsed.unrecognized_fields == {"x-extra": "kept"}
    assert parsed.signed_bytes == signed_bytes


def test_a_pem_key_with_newlines_is_written_as_valid_json() -> None:
    """Canonical JSON keeps control characters raw: such bytes are signed, but the
    file must still be JSON (recently-claimed delegating to a token's ECDSA key)."""
    developer = CryptoSigner.generate_ecdsa().public_key
    assert "\n" in developer.keyval["public"]
    role = DelegatedRole("rc-token-pkg", [developer.keyid], 1, True, paths=["0a1b/token-pkg/*"])
    md = Metadata(
        Targets(
            version=2,
            expires=EXPIRES,
            delegations=Delegations({developer.keyid: developer}, {role.name: role}),
        )
    )
    signer = CryptoSigner.generate_ed25519()

    signed_bytes = sign_metadata(md, [signer])
    parsed = Metadata[Targets].from_bytes(metadata_bytes(md, signed_bytes))

    assert signed_bytes is None  # not JSON: python-tuf serialises this file
    signer.public_key.verify_signature(
        parsed.signatures[signer.public_key.keyid], parsed.signed_bytes
    )
    assert parsed.signed.delegations is not None
    assert parsed.signed.delegations.keys[developer.keyid] == developer
