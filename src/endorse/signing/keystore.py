"""The local keystore: this machine's developer-key descriptors, one JSON file per key.

Layout of the folder (mode 0700; the CLI defaults it to
``$ENDORSE_DEVELOPER_KEYS_DIR`` or ``~/.config/endorse/keys``)::

    laptop.json        descriptor of a passphrase key (nothing secret)
    work.json          descriptor of a key file ...
    work.pem           ... and the encrypted PKCS#8 key itself (0600)
    yubikey.json       descriptor of a token key (the key is on the token)

Keys are per machine and never copied: there is no export of private
material, only of the public half (:meth:`KeyDescriptor.public_dict`). A new
machine gets its own key, endorsed by a key of the same maintainer that is
already registered (``endorse.signing.machines``).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from securesystemslib.signer import SecretsHandler, Signer

from endorse.errors import EndorseError, KeyUnavailable, NotFound
from endorse.signing._files import write_new_file
from endorse.signing._register import register_signers
from endorse.signing.descriptor import KeyDescriptor, KeyKind, validate_key_name

__all__ = ["Keystore", "load_signer"]

logger = logging.getLogger(__name__)


class Keystore:
    """Descriptors of the developer keys on this machine, in one folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _descriptor_path(self, name: str) -> Path:
        return self.folder / f"{validate_key_name(name)}.json"

    def key_file_path(self, name: str) -> Path:
        """Where the encrypted key file of a ``file`` key named ``name`` goes."""
        return self.folder / f"{validate_key_name(name)}.pem"

    def ensure_folder(self) -> None:
        """Create the folder, private to this user (0700)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        os.chmod(self.folder, 0o700)

    def check_free(self, name: str) -> None:
        """Raise unless ``name`` is unused here (call before asking for secrets)."""
        if self._descriptor_path(name).exists() or self.key_file_path(name).exists():
            raise EndorseError(
                f"a key named {name!r} already exists in {str(self.folder)!r}",
                hint="choose another --name; endorse never overwrites a key",
            )

    def add(self, descriptor: KeyDescriptor) -> Path:
        """Store a new descriptor atomically; never replaces an existing one."""
        self.ensure_folder()
        path = self._descriptor_path(descriptor.name)
        data = json.dumps(descriptor.to_dict(), indent=2, sort_keys=True) + "\n"
        write_new_file(path, data.encode("utf-8"))
        logger.info("stored key %s as %s", descriptor.short_keyid, path)
        return path

    def get(self, name: str) -> KeyDescriptor:
        """The descriptor of key ``name``; NotFound when there is none."""
        path = self._descriptor_path(name)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as e:
            raise NotFound(
                f"no key named {name!r} in {str(self.folder)!r}",
                hint="run `endorse key list` to see the keys on this machine",
            ) from e
        except (OSError, ValueError) as e:
            raise EndorseError(f"cannot read key descriptor {str(path)!r}: {e}") from e
        return KeyDescriptor.from_dict(raw)

    def descriptors(self) -> list[KeyDescriptor]:
        """Every descriptor here, by name."""
        if not self.folder.is_dir():
            return []
        return [self.get(p.stem) for p in sorted(self.folder.glob("*.json"))]


def load_signer(descriptor: KeyDescriptor, secrets_handler: SecretsHandler) -> Signer:
    """A Signer for any kind, through ``Signer.from_priv_key_uri`` (the one interface).

    Registers endorse's URI schemes first (idempotent). Token keys sign
    through ``PYKCS11LIB``: see :func:`endorse.signing.hsm.pkcs11_module`.
    """
    register_signers()
    try:
        return Signer.from_priv_key_uri(descriptor.uri, descriptor.public_key, secrets_handler)
    except ValueError as e:
        raise KeyUnavailable(
            f"cannot use key {descriptor.short_keyid} ({descriptor.name}): {e}",
            hint=(
                "install the token extra: pip install 'endorse[hsm]'"
                if descriptor.kind is KeyKind.TOKEN
                else None
            ),
        ) from e
