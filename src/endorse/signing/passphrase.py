"""Passphrase keys: an Ed25519 key derived from a passphrase with Argon2id.

Nothing secret is stored. The private-key URI holds only public parameters::

    passphrase:argon2id?v=1&user=alice&salt=<base64url, 16 random bytes>&m=262144&t=3&p=4

and the key is re-derived whenever it is used: the passphrase (NFC-normalised
UTF-8) is stretched with Argon2id into a 32-byte Ed25519 seed. The Argon2id
salt is::

    b"endorse/passphrase-key/v1" || 0x00 || len(user) (2 bytes, big-endian) || user || random

so the same passphrase gives different keys for different maintainers (the
username) and for different keys of one maintainer, i.e. different machines
(16 random bytes made with each key). The salt is not secret, but it is not
published either: the index receives only the public key.

A wrong passphrase derives a different key; the signer compares it with the
descriptor's public key and raises ``KeyUnavailable("... wrong passphrase")``.
"""

from __future__ import annotations

import base64
import logging
import os
import unicodedata
from urllib.parse import quote, urlencode, urlparse

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from securesystemslib.signer import Key, SecretsHandler, Signer, SSlibKey

from endorse.errors import KeyUnavailable
from endorse.signing._ed25519 import UnlockedEd25519Signer, ask_secret, require_matching_key
from endorse.signing.descriptor import KeyDescriptor, KeyKind, KeyLabels
from endorse.signing.kdf import DEFAULT_ARGON2, Argon2Params, derive, parse_query, warn_if_weak
from endorse.signing.secret import Secret
from endorse.signing.strength import (
    PASSPHRASE_KEY_BAR,
    Strength,
    StrengthBar,
    check_new_secret,
)

__all__ = [
    "SALT_DOMAIN",
    "PassphraseSigner",
    "check_passphrase",
    "generate",
    "kdf_salt",
    "load_signer",
]

logger = logging.getLogger(__name__)

SALT_DOMAIN = b"endorse/passphrase-key/v1"
_RANDOM_SALT_BYTES = 16
_URI_VERSION = "1"
_KDF = "argon2id"


def kdf_salt(user: str, random_salt: bytes) -> bytes:
    """The Argon2id salt: domain, 0x00, length-prefixed username, per-key random bytes."""
    user_bytes = unicodedata.normalize("NFC", user).encode("utf-8")
    if len(user_bytes) > 0xFFFF:
        raise ValueError("username too long")
    return SALT_DOMAIN + b"\x00" + len(user_bytes).to_bytes(2, "big") + user_bytes + random_salt


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _derive_private_key(
    passphrase: Secret, user: str, random_salt: bytes, params: Argon2Params
) -> Ed25519PrivateKey:
    seed = derive(passphrase, kdf_salt(user, random_salt), params, length=32)
    return Ed25519PrivateKey.from_private_bytes(seed)


def _uri(user: str, random_salt: bytes, params: Argon2Params) -> str:
    query = {"v": _URI_VERSION, "user": user, "salt": _b64(random_salt), **params.to_query()}
    return f"{PassphraseSigner.SCHEME}:{_KDF}?{urlencode(query, quote_via=quote)}"


class PassphraseSigner(UnlockedEd25519Signer):
    """A :class:`Signer` for ``passphrase:`` URIs; asks the secrets handler for "passphrase"."""

    SCHEME = "passphrase"
    SECRET_NAME = "passphrase"  # noqa: S105 - what the secrets handler is asked for

    @classmethod
    def from_priv_key_uri(
        cls,
        priv_key_uri: str,
        public_key: Key,
        secrets_handler: SecretsHandler | None = None,
    ) -> PassphraseSigner:
        uri = urlparse(priv_key_uri)
        if uri.scheme != cls.SCHEME or uri.path != _KDF:
            raise ValueError(f"PassphraseSigner does not support {priv_key_uri!r}")
        if not isinstance(public_key, SSlibKey):
            raise ValueError(f"expected an SSlibKey for {priv_key_uri!r}")
        query = parse_query(uri.query)
        try:
            if query["v"][0] != _URI_VERSION:
                raise ValueError(f"unknown version {query['v'][0]!r}")
            user = query["user"][0]
            random_salt = _unb64(query["salt"][0])
        except (KeyError, IndexError, ValueError) as e:
            raise KeyUnavailable(
                f"cannot use key {public_key.keyid[:12]}: malformed URI {priv_key_uri!r}",
                hint="the key descriptor was edited or truncated; make a new key",
            ) from e
        params = Argon2Params.from_query(query, priv_key_uri)
        passphrase = ask_secret(secrets_handler, cls.SECRET_NAME, public_key)
        private_key = _derive_private_key(passphrase, user, random_salt, params)
        require_matching_key(private_key, public_key, "passphrase")
        logger.debug("unlocked passphrase key %s", public_key.keyid[:12])
        return cls(private_key, public_key)


def check_passphrase(
    passphrase: Secret,
    labels: KeyLabels,
    *,
    params: Argon2Params = DEFAULT_ARGON2,
    bar: StrengthBar = PASSPHRASE_KEY_BAR,
) -> Strength:
    """Measure a passphrase for a new key; raise WeakPassphrase below ``bar``."""
    return check_new_secret(passphrase, labels.user_inputs, params=params, bar=bar)


def generate(
    passphrase: Secret,
    labels: KeyLabels,
    *,
    params: Argon2Params = DEFAULT_ARGON2,
    bar: StrengthBar = PASSPHRASE_KEY_BAR,
) -> KeyDescriptor:
    """Make a new passphrase key (weak passphrases are refused); nothing secret is written."""
    check_passphrase(passphrase, labels, params=params, bar=bar)
    warn_if_weak(params, f"passphrase key {labels.name!r}")
    random_salt = os.urandom(_RANDOM_SALT_BYTES)
    private_key = _derive_private_key(passphrase, labels.maintainer, random_salt, params)
    public_key = SSlibKey.from_crypto(private_key.public_key())
    logger.info("made passphrase key %s (%s)", public_key.keyid[:12], labels.name)
    return KeyDescriptor(
        name=labels.name,
        kind=KeyKind.PASSPHRASE,
        uri=_uri(labels.maintainer, random_salt, params),
        public_key=public_key,
        maintainer=labels.maintainer,
        machine=labels.machine,
        created=labels.created,
    )


def load_signer(descriptor: KeyDescriptor, secrets_handler: SecretsHandler) -> Signer:
    """The signer of a passphrase key (re-derives the key; asks for "passphrase")."""
    return PassphraseSigner.from_priv_key_uri(
        descriptor.uri, descriptor.public_key, secrets_handler
    )
