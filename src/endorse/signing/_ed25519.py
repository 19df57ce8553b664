"""The unlocked state shared by passphrase keys and key files: an Ed25519 signer.

Private: callers get a :class:`securesystemslib.signer.Signer` from
``Signer.from_priv_key_uri`` and never see this class's private key.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from securesystemslib.signer import CryptoSigner, Key, SecretsHandler, Signature, Signer, SSlibKey

from endorse.errors import KeyUnavailable
from endorse.signing.secret import Secret

UNLOCK_HINT = "retry, or run `endorse key list` to see the keys on this machine"


class UnlockedEd25519Signer(Signer):
    """Sign with an Ed25519 private key held in memory; ``repr`` never shows it."""

    def __init__(self, private_key: Ed25519PrivateKey, public_key: SSlibKey) -> None:
        # CryptoSigner does the signing (and the Signature format); we only hold it.
        self._signer = CryptoSigner(private_key, public_key)

    @property
    def public_key(self) -> Key:
        return self._signer.public_key

    def sign(self, payload: bytes) -> Signature:
        return self._signer.sign(payload)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(keyid={self.public_key.keyid[:12]!r})"


def ask_secret(secrets_handler: SecretsHandler | None, secret_name: str, public_key: Key) -> Secret:
    """Call the application's secrets handler, or explain that one is needed."""
    if secrets_handler is None:
        raise KeyUnavailable(
            f"cannot unlock key {public_key.keyid[:12]}: no {secret_name} was supplied",
            hint="pass a secrets_handler to Signer.from_priv_key_uri",
        )
    return Secret(secrets_handler(secret_name))


def require_matching_key(private_key: Ed25519PrivateKey, public_key: Key, wrong_what: str) -> None:
    """Raise KeyUnavailable("wrong <secret>") unless ``private_key`` is ``public_key``'s."""
    derived = SSlibKey.from_crypto(private_key.public_key())
    if (derived.keytype, derived.scheme, derived.keyval) != (
        public_key.keytype,
        public_key.scheme,
        getattr(public_key, "keyval", None),
    ):
        raise KeyUnavailable(
            f"cannot unlock key {public_key.keyid[:12]}: wrong {wrong_what}", hint=UNLOCK_HINT
        )
