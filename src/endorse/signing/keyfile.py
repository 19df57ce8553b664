"""Encrypted key files: an Ed25519 private key in an encrypted PKCS#8 PEM file.

cryptography's ``BestAvailableEncryption`` writes PKCS#8 as PBES2 with
PBKDF2-HMAC-SHA256 at only 2,048 iterations and AES-256-CBC, and its
``encryption_builder()`` (which could raise the rounds) is limited to OpenSSH
and PKCS#12. So the password is first stretched with Argon2id (same cost as
passphrase keys) and the 32-byte result, hex-encoded, is the PBES2 password.
The file stays a standard encrypted PKCS#8 PEM; the Argon2id salt and cost
sit, public, in the private-key URI::

    encfile:/home/alice/.config/endorse/keys/laptop.pem?v=1&salt=<base64url>&m=262144&t=3&p=4

The file is written with mode 0600, atomically (temp file, then a hard link
that fails rather than overwrite an existing key). securesystemslib's own
``file2:`` scheme only reads unencrypted keys, hence this Signer.
"""

from __future__ import annotations

import base64
import logging
import os
from pathlib import Path
from urllib.parse import quote, unquote, urlencode, urlparse

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from securesystemslib.signer import Key, SecretsHandler, Signer, SSlibKey

from endorse.errors import EndorseError, KeyUnavailable
from endorse.signing._ed25519 import (
    UNLOCK_HINT,
    UnlockedEd25519Signer,
    ask_secret,
    require_matching_key,
)
from endorse.signing._files import write_new_file
from endorse.signing.descriptor import KeyDescriptor, KeyKind, KeyLabels
from endorse.signing.kdf import DEFAULT_ARGON2, Argon2Params, derive, parse_query, warn_if_weak
from endorse.signing.secret import Secret
from endorse.signing.strength import (
    KEY_FILE_BAR,
    Strength,
    StrengthBar,
    check_new_secret,
)

__all__ = ["SALT_DOMAIN", "EncryptedFileSigner", "check_password", "generate", "load_signer"]

logger = logging.getLogger(__name__)

SALT_DOMAIN = b"endorse/key-file/v1"
_RANDOM_SALT_BYTES = 16
_URI_VERSION = "1"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _pem_password(password: Secret, random_salt: bytes, params: Argon2Params) -> bytes:
    stretched = derive(password, SALT_DOMAIN + b"\x00" + random_salt, params, length=32)
    return stretched.hex().encode("ascii")


def _uri(path: Path, random_salt: bytes, params: Argon2Params) -> str:
    query = {"v": _URI_VERSION, "salt": _b64(random_salt), **params.to_query()}
    return f"{EncryptedFileSigner.SCHEME}:{quote(str(path))}?{urlencode(query)}"


class EncryptedFileSigner(UnlockedEd25519Signer):
    """A :class:`Signer` for ``encfile:`` URIs; asks the secrets handler for "password"."""

    SCHEME = "encfile"
    SECRET_NAME = "password"  # noqa: S105 - what the secrets handler is asked for

    @classmethod
    def from_priv_key_uri(
        cls,
        priv_key_uri: str,
        public_key: Key,
        secrets_handler: SecretsHandler | None = None,
    ) -> EncryptedFileSigner:
        uri = urlparse(priv_key_uri)
        if uri.scheme != cls.SCHEME or not uri.path:
            raise ValueError(f"EncryptedFileSigner does not support {priv_key_uri!r}")
        if not isinstance(public_key, SSlibKey):
            raise ValueError(f"expected an SSlibKey for {priv_key_uri!r}")
        short = public_key.keyid[:12]
        path = Path(unquote(uri.path))
        query = parse_query(uri.query)
        try:
            if query["v"][0] != _URI_VERSION:
                raise ValueError(f"unknown version {query['v'][0]!r}")
            random_salt = _unb64(query["salt"][0])
        except (KeyError, IndexError, ValueError) as e:
            raise KeyUnavailable(
                f"cannot use key {short}: malformed URI {priv_key_uri!r}",
                hint="the key descriptor was edited or truncated",
            ) from e
        params = Argon2Params.from_query(query, priv_key_uri)
        try:
            pem = path.read_bytes()
        except OSError as e:
            raise KeyUnavailable(
                f"cannot read key file {str(path)!r} of key {short}: {e.strerror}",
                hint="keys are per machine: is this the machine the key was made on?",
            ) from e
        password = ask_secret(secrets_handler, cls.SECRET_NAME, public_key)
        try:
            private_key = serialization.load_pem_private_key(
                pem, _pem_password(password, random_salt, params)
            )
        except ValueError as e:
            # cryptography: "Bad decrypt. Incorrect password?" (or garbage after a
            # wrong key that happened to pass the padding check).
            raise KeyUnavailable(
                f"cannot unlock key {short}: wrong password", hint=UNLOCK_HINT
            ) from e
        except TypeError as e:
            raise KeyUnavailable(
                f"key file {str(path)!r} is not encrypted",
                hint="endorse key files are always encrypted; make a new key",
            ) from e
        if not isinstance(private_key, Ed25519PrivateKey):
            raise KeyUnavailable(f"key file {str(path)!r} does not hold an Ed25519 key")
        require_matching_key(private_key, public_key, "password")
        logger.debug("unlocked key file %s", short)
        return cls(private_key, public_key)


def check_password(
    password: Secret,
    labels: KeyLabels,
    *,
    params: Argon2Params = DEFAULT_ARGON2,
    bar: StrengthBar = KEY_FILE_BAR,
) -> Strength:
    """Measure a key-file password; raise WeakPassphrase below ``bar``."""
    return check_new_secret(password, labels.user_inputs, params=params, bar=bar)


def generate(
    password: Secret,
    labels: KeyLabels,
    path: Path,
    *,
    params: Argon2Params = DEFAULT_ARGON2,
    bar: StrengthBar = KEY_FILE_BAR,
) -> KeyDescriptor:
    """Make a new Ed25519 key and write it, encrypted, to ``path`` (0600, never overwriting)."""
    check_password(password, labels, params=params, bar=bar)
    warn_if_weak(params, f"key file {labels.name!r}")
    path = path.resolve()
    if path.exists():
        raise EndorseError(
            f"key file {str(path)!r} already exists",
            hint="choose another key name; endorse never overwrites a key",
        )
    random_salt = os.urandom(_RANDOM_SALT_BYTES)
    private_key = Ed25519PrivateKey.generate()
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(_pem_password(password, random_salt, params)),
    )
    write_new_file(path, pem)
    public_key = SSlibKey.from_crypto(private_key.public_key())
    logger.info("made key file %s (%s) at %s", public_key.keyid[:12], labels.name, path)
    return KeyDescriptor(
        name=labels.name,
        kind=KeyKind.FILE,
        uri=_uri(path, random_salt, params),
        public_key=public_key,
        maintainer=labels.maintainer,
        machine=labels.machine,
        created=labels.created,
    )


def load_signer(descriptor: KeyDescriptor, secrets_handler: SecretsHandler) -> Signer:
    """The signer of a key file (decrypts it; asks for "password")."""
    return EncryptedFileSigner.from_priv_key_uri(
        descriptor.uri, descriptor.public_key, secrets_handler
    )
