"""Developer keys (PEP 480): every kind is a securesystemslib ``Signer``.

* :mod:`~endorse.signing.passphrase`: Ed25519 derived from a passphrase with Argon2id
  (``passphrase:`` URIs).
* :mod:`~endorse.signing.keyfile`: Ed25519 in an encrypted PKCS#8 file (``encfile:`` URIs).
* :mod:`~endorse.signing.hsm`: ECDSA P-256 on a PKCS#11 token, securesystemslib's
  ``HSMSigner`` (``hsm:`` URIs).
* :mod:`~endorse.signing.keystore`: this machine's key descriptors.
* :mod:`~endorse.signing.machines`: adding a new machine's key, signed by an existing key.
* :mod:`~endorse.metadata.maintainers`: thresholds that count maintainers, not keys.

Call :func:`register_signers` before ``Signer.from_priv_key_uri`` on an endorse URI;
importing this package registers nothing. See docs/developer-keys.md.
"""

from endorse.metadata.maintainers import (
    InvalidMaintainerMap,
    MaintainerPolicy,
    ThresholdNotMet,
    count_maintainers,
    verify_delegate_maintainers,
    verify_maintainer_threshold,
)
from endorse.signing._register import register_signers
from endorse.signing.descriptor import KeyDescriptor, KeyKind, KeyLabels
from endorse.signing.hsm import TokenSlot, pkcs11_module
from endorse.signing.kdf import DEFAULT_ARGON2, Argon2Params
from endorse.signing.keyfile import EncryptedFileSigner
from endorse.signing.keystore import Keystore, load_signer
from endorse.signing.machines import KeyAddition, KeyAdditionInvalid, verify_key_addition
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
    "InvalidMaintainerMap",
    "KeyAddition",
    "KeyAdditionInvalid",
    "KeyDescriptor",
    "KeyKind",
    "KeyLabels",
    "Keystore",
    "MaintainerPolicy",
    "PassphraseSigner",
    "Secret",
    "Strength",
    "StrengthBar",
    "ThresholdNotMet",
    "TokenSlot",
    "WeakPassphrase",
    "count_maintainers",
    "load_signer",
    "pkcs11_module",
    "register_signers",
    "verify_delegate_maintainers",
    "verify_key_addition",
    "verify_maintainer_threshold",
]
