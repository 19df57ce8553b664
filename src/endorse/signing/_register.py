"""The one place endorse adds its private-key URI schemes to securesystemslib.

Call :func:`register_signers` explicitly (faces do, before loading keys by
URI); importing endorse registers nothing. Afterwards
``Signer.from_priv_key_uri`` understands, besides securesystemslib's own
schemes (``file2:``, ``hsm:``, KMS ...):

* ``passphrase:`` -> :class:`endorse.signing.passphrase.PassphraseSigner`
* ``encfile:``    -> :class:`endorse.signing.keyfile.EncryptedFileSigner`

Token keys use securesystemslib's ``hsm:`` scheme and ``HSMSigner`` unchanged.
"""

from __future__ import annotations

from securesystemslib.signer import SIGNER_FOR_URI_SCHEME

__all__ = ["register_signers"]


def register_signers() -> None:
    """Add endorse's schemes to ``SIGNER_FOR_URI_SCHEME`` (idempotent)."""
    from endorse.signing.keyfile import EncryptedFileSigner
    from endorse.signing.passphrase import PassphraseSigner

    for signer in (PassphraseSigner, EncryptedFileSigner):
        existing = SIGNER_FOR_URI_SCHEME.get(signer.SCHEME)
        if existing is not None and existing is not signer:
            raise RuntimeError(
                f"URI scheme {signer.SCHEME!r} is already taken by {existing.__name__}"
            )
        SIGNER_FOR_URI_SCHEME[signer.SCHEME] = signer
