"""Developer keys: shared constants and a python-tuf check every key kind must pass."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from securesystemslib.signer import Key, Signer
from tuf.api.metadata import DelegatedRole, Delegations, Metadata, Targets

from endorse.signing.kdf import Argon2Params

#: Cheap Argon2id for tests, passed explicitly (never patched): 64 KiB, one pass.
FAST = Argon2Params(memory_kib=64, iterations=1, lanes=1)
#: Clears the passphrase-key bar (zxcvbn score 4, about 10^32 guesses).
STRONG = "gravel orbit lantern misty cactus plume"
#: Clears the key-file bar (score 3, 10^12) but not the passphrase-key bar (10^14).
MEDIUM = "alice-laptop-2024!"
#: Refused by both bars.
WEAK = "password123"


def sign_and_verify_in_tuf(signer: Signer, public_key: Key) -> None:
    """Sign a project role with python-tuf and verify it as its delegator would.

    Raises (UnsignedMetadataError) unless the signature verifies, also after
    a round trip through bytes.
    """
    delegator = Targets(expires=datetime.now(UTC) + timedelta(days=1))
    delegator.delegations = Delegations(
        keys={public_key.keyid: public_key},
        roles={
            "sampleproject": DelegatedRole(
                "sampleproject", [public_key.keyid], 1, True, paths=["sampleproject/*"]
            )
        },
    )
    project_md = Metadata(Targets(expires=datetime.now(UTC) + timedelta(days=1)))
    project_md.sign(signer)
    delegator.verify_delegate("sampleproject", project_md.signed_bytes, project_md.signatures)
    reloaded = Metadata[Targets].from_bytes(project_md.to_bytes())
    delegator.verify_delegate("sampleproject", reloaded.signed_bytes, reloaded.signatures)
