"""Hardware-token keys over PKCS#11, through securesystemslib's own ``HSMSigner``.

The key pair is an ECDSA P-256 key (``ecdsa-sha2-nistp256``, what YubiKey PIV
and tuf-on-ci use) made ON the token with python-pkcs11: the private key is
created sensitive and non-extractable and never leaves the token. Then
``HSMSigner.import_(hsm_keyid=..., token_label=...)`` reads the public key and
gives the private-key URI, e.g. ``hsm:2?label=endorse-test``. Signing is
``Signer.from_priv_key_uri(uri, public_key, secrets_handler)``; the handler is
asked for "pin" at every signature.

securesystemslib finds the PKCS#11 module through the environment variable
``PYKCS11LIB`` (read by ``HSMSigner`` itself, on every signature). endorse
records the module path in the key's descriptor; :func:`pkcs11_module` sets
the variable for a block of code. Module paths: SoftHSM2
``/usr/lib/softhsm/libsofthsm2.so``, YubiKey PIV ``libykcs11.so`` (Yubico PIV
tool), YubiHSM 2 ``yubihsm_pkcs11.so``, Nitrokey HSM / SmartCard-HSM
``opensc-pkcs11.so``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from securesystemslib.signer import HSMSigner, SecretsHandler, Signer

from endorse.errors import EndorseError, KeyUnavailable
from endorse.signing.descriptor import KeyDescriptor, KeyKind, KeyLabels
from endorse.signing.secret import Secret

if TYPE_CHECKING:
    import pkcs11

__all__ = [
    "PYKCS11LIB",
    "TokenSlot",
    "describe_token_error",
    "generate",
    "load_signer",
    "pkcs11_module",
]

logger = logging.getLogger(__name__)

#: The environment variable securesystemslib's HSMSigner reads.
PYKCS11LIB = "PYKCS11LIB"
#: PIV slot 9c (digital signature) is PKCS#11 key id 2 on a YubiKey (ykcs11).
DEFAULT_HSM_KEYID = HSMSigner.SCHEME_KEYID

_TOKEN_ERRORS = {
    "PinIncorrect": "wrong PIN",
    "PinLocked": "the PIN is locked (too many wrong PINs)",
    "PinExpired": "the PIN has expired",
    "PinLenRange": "wrong PIN (bad length)",
    "TokenNotPresent": "the token is not plugged in",
    "DeviceRemoved": "the token was removed",
    "NoSuchToken": "no such token",
    "NoSuchKey": "no such key on the token",
    "UserNotLoggedIn": "not logged in to the token",
}


@dataclass(frozen=True)
class TokenSlot:
    """Where a token key lives: PKCS#11 module, token label, key id on the token."""

    module: str
    #: None: the only token the module sees.
    token_label: str | None = None
    hsm_keyid: int = DEFAULT_HSM_KEYID

    @property
    def token_name(self) -> str:
        """The label quoted, or "the token", for messages."""
        return repr(self.token_label) if self.token_label else "the token"


@contextmanager
def pkcs11_module(path: str) -> Iterator[None]:
    """Point ``HSMSigner`` at the PKCS#11 module ``path`` (it reads ``PYKCS11LIB``) for a block.

    Not thread-safe (it sets a process environment variable): use it in the
    command that signs, around the signing, not in a server.
    """
    previous = os.environ.get(PYKCS11LIB)
    os.environ[PYKCS11LIB] = path
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(PYKCS11LIB, None)
        else:
            os.environ[PYKCS11LIB] = previous


def describe_token_error(error: BaseException) -> str:
    """A python-pkcs11 or HSMSigner error in words (python-pkcs11's are often empty)."""
    known = _TOKEN_ERRORS.get(type(error).__name__)
    if known:
        return known
    return str(error) or type(error).__name__


def _open_token(slot: TokenSlot) -> pkcs11.Token:
    try:
        import pkcs11
        from pkcs11.exceptions import MultipleTokensReturned, NoSuchToken
    except ImportError as e:
        raise KeyUnavailable(
            "python-pkcs11 is not installed", hint="pip install 'endorse[hsm]'"
        ) from e
    try:
        lib = pkcs11.lib(slot.module)
    except (RuntimeError, OSError) as e:
        raise KeyUnavailable(
            f"cannot load PKCS#11 module {slot.module!r}: {describe_token_error(e)}",
            hint="pass --pkcs11-lib with the module of your token (see docs/developer-keys.md)",
        ) from e
    try:
        return lib.get_token(token_label=slot.token_label)
    except NoSuchToken as e:
        raise KeyUnavailable(
            f"no PKCS#11 token {slot.token_name} in {slot.module!r}",
            hint="plug the token in, or check --token-label (softhsm2-util --show-slots, "
            "pkcs11-tool --list-slots)",
        ) from e
    except MultipleTokensReturned as e:
        raise KeyUnavailable(
            f"several PKCS#11 tokens match {slot.token_name} in {slot.module!r}",
            hint="pass --token-label",
        ) from e


def _generate_on_token(slot: TokenSlot, pin: Secret, labels: KeyLabels) -> None:
    import pkcs11
    from pkcs11 import Attribute, KeyType, MechanismFlag
    from pkcs11.util.ec import encode_named_curve_parameters

    token = _open_token(slot)
    key_id = pkcs11.util.biginteger(slot.hsm_keyid)
    try:
        with token.open(rw=True, user_pin=pin.reveal()) as session:
            if any(True for _ in session.get_objects({Attribute.ID: key_id})):
                raise EndorseError(
                    f"{slot.token_name} already holds a key with id {slot.hsm_keyid}",
                    hint="pass another --hsm-keyid, or --use-existing to register that key",
                )
            params = session.create_domain_parameters(
                KeyType.EC,
                {Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")},
                local=True,
            )
            params.generate_keypair(
                id=key_id,
                label=f"endorse {labels.name}",
                store=True,
                capabilities=MechanismFlag.SIGN | MechanismFlag.VERIFY,
                public_template={Attribute.PRIVATE: False},
                private_template={
                    Attribute.PRIVATE: True,
                    Attribute.SENSITIVE: True,
                    Attribute.EXTRACTABLE: False,
                },
            )
    except RuntimeError as e:  # python-pkcs11's PKCS11Error
        raise KeyUnavailable(
            f"cannot make a key on {slot.token_name}: {describe_token_error(e)}",
            hint="check the PIN and that the token allows key generation with the user PIN",
        ) from e


def generate(
    slot: TokenSlot,
    pin: Secret,
    labels: KeyLabels,
    *,
    use_existing: bool = False,
) -> KeyDescriptor:
    """Make an ECDSA P-256 key pair on the token (or take the one at ``slot``) and describe it."""
    if not use_existing:
        _generate_on_token(slot, pin, labels)
    try:
        with pkcs11_module(slot.module):
            uri, public_key = HSMSigner.import_(
                hsm_keyid=slot.hsm_keyid,
                token_label=slot.token_label,
                secrets_handler=lambda _name: pin.reveal(),
            )
    except (ValueError, RuntimeError) as e:
        raise KeyUnavailable(
            f"cannot read key {slot.hsm_keyid} on {slot.token_name}: {describe_token_error(e)}",
            hint="check --hsm-keyid and --token-label",
        ) from e
    logger.info("registered token key %s (%s) as %s", public_key.keyid[:12], labels.name, uri)
    return KeyDescriptor(
        name=labels.name,
        kind=KeyKind.TOKEN,
        uri=uri,
        public_key=public_key,
        maintainer=labels.maintainer,
        machine=labels.machine,
        created=labels.created,
        pkcs11_module=slot.module,
    )


def load_signer(descriptor: KeyDescriptor, secrets_handler: SecretsHandler) -> Signer:
    """The ``HSMSigner`` of a token key (asks for "pin" at each signature).

    Sign inside ``with pkcs11_module(descriptor.pkcs11_module):`` unless
    ``PYKCS11LIB`` is already set for the process.
    """
    try:
        return HSMSigner.from_priv_key_uri(descriptor.uri, descriptor.public_key, secrets_handler)
    except ValueError as e:
        raise KeyUnavailable(f"cannot use token key {descriptor.short_keyid}: {e}") from e
