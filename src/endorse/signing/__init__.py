"""Developer keys (PEP 480): every kind is a securesystemslib ``Signer``.

* :mod:`~endorse.signing.passphrase`: Ed25519 derived from a passphrase with Argon2id
  (``passphrase:`` URIs).
* :mod:`~endorse.signing.keyfile`: Ed25519 in an encrypted PKCS#8 file (``encfile:`` URIs).
* :mod:`~endorse.signing.hsm`: ECDSA P-256 on a PKCS#11 token, securesystemslib's
  ``HSMSigner`` (``hsm:`` URIs).
* :mod:`~endorse.signing.keystore`: this machine's key descriptors.
* :mod:`~endorse.signing.machines`: signing a new machine's key in with an existing key.

The add-key statement and the maintainer thresholds are verified without any
signer, so they live in :mod:`endorse.metadata` (``key_addition``, ``maintainers``).

Call :func:`register_signers` before ``Signer.from_priv_key_uri`` on an endorse URI;
importing this package registers nothing. See docs/developer-keys.md.
"""

from endorse.signing._register import register_signers
from endorse.signing.descriptor import KeyDescriptor, KeyKind, KeyLabels
from endorse.signing.hsm import TokenSlot, pkcs11_module
from endorse.signing.kdf import DEFAULT_ARGON2, Argon2Params
from endorse.signing.keyfile import EncryptedFileSigner
from endorse.signing.keystore import Keystore, load_signer
from endorse.signing.machines import endorse_new_key, sign_key_addition
from endorse.signing.passphrase import PassphraseSigner
from endorse.signing.secret import Secret
from endorse.signing.strength import (
    KEY_FILE_BAR,
    PASSPHRASE_KEY_BAR,
    Strength,
    StrengthBar,
    WeakPassphrase,
)

__all__ = [
    "DEFAULT_ARGON2",
    "KEY_FILE_BAR",
    "PASSPHRASE_KEY_BAR",
    "Argon2Params",
    "EncryptedFileSigner",
    "KeyDescriptor",
    "KeyKind",
    "KeyLabels",
    "Keystore",
    "PassphraseSigner",
    "Secret",
    "Strength",
    "StrengthBar",
    "TokenSlot",
    "WeakPassphrase",
    "endorse_new_key",
    "load_signer",
    "pkcs11_module",
    "register_signers",
    "sign_key_addition",
]
