"""Endorsing a new machine's key: the add-key statement signed with an existing key.

The statement and its verification are in :mod:`endorse.metadata.key_addition`
(the index checks it there, without any signer); here a maintainer's existing
key, of any kind, signs it.
"""

from __future__ import annotations

from datetime import datetime

from securesystemslib.signer import Key, Signature, Signer

from endorse.errors import EndorseError, KeyUnavailable
from endorse.metadata.dates import utc_now
from endorse.metadata.key_addition import KeyAddition
from endorse.signing.descriptor import KeyDescriptor
from endorse.signing.hsm import describe_token_error

__all__ = ["endorse_new_key", "sign_key_addition"]


def sign_key_addition(statement: KeyAddition, signer: Signer) -> Signature:
    """Sign ``statement`` with an existing key (any kind: the Signer interface)."""
    try:
        return signer.sign(statement.signed_bytes())
    except (ValueError, RuntimeError, OSError) as e:
        # HSMSigner raises ValueError (token or key not found) and python-pkcs11's
        # PKCS11Error (a RuntimeError: wrong PIN, token removed ...).
        raise KeyUnavailable(
            f"cannot sign with key {signer.public_key.keyid[:12]}: {describe_token_error(e)}",
            hint="retry, or run `endorse key list` to see the keys on this machine",
        ) from e


def endorse_new_key(
    new_key: Key,
    maintainer: str,
    by: KeyDescriptor,
    signer: Signer,
    *,
    project: str | None = None,
    created: datetime | None = None,
) -> tuple[KeyAddition, Signature]:
    """Make and sign the statement "add ``new_key`` to ``maintainer``" with key ``by``.

    ``by`` must belong to the same maintainer and be another key; ``signer``
    is ``by``'s signer (any kind).
    """
    if maintainer != by.maintainer:
        raise EndorseError(
            f"the new key belongs to {maintainer!r}, key {by.name!r} to {by.maintainer!r}: "
            "a key can only endorse a key of the same maintainer",
            hint="each maintainer endorses their own machines",
        )
    if new_key.keyid == by.keyid:
        raise EndorseError(f"key {by.name!r} cannot endorse itself")
    if signer.public_key.keyid != by.keyid:
        raise EndorseError(f"the signer given is not key {by.name!r}")
    statement = KeyAddition(maintainer, new_key, created or utc_now(), project)
    return statement, sign_key_addition(statement, signer)
