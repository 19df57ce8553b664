"""Key descriptors: everything public about one developer key on one machine.

A descriptor is what the local keystore writes (one JSON file per key) and
what a maintainer registers with the index (its public half). It never holds
private key material: a passphrase key is re-derived on use, a key file is
encrypted, a token key never leaves the token.

::

    {
      "type": "endorse/key-descriptor/v1",
      "name": "laptop",
      "kind": "passphrase",
      "uri": "passphrase:argon2id?v=1&user=alice&salt=...&m=262144&t=3&p=4",
      "public_key": {"keyid": "3f2a...", "key": {"keytype": "ed25519", ...}},
      "maintainer": "alice",
      "machine": "alice-thinkpad",
      "created": "2025-01-31T12:00:00Z",
      "pkcs11_module": null
    }
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from securesystemslib.signer import Key

from endorse.errors import EndorseError
from endorse.metadata.dates import format_time, parse_time, utc_now

__all__ = [
    "DESCRIPTOR_TYPE",
    "KeyDescriptor",
    "KeyKind",
    "KeyLabels",
    "parse_public_dict",
    "validate_key_name",
]

DESCRIPTOR_TYPE = "endorse/key-descriptor/v1"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class KeyKind(StrEnum):
    """The three kinds of developer key (DESIGN rule 7)."""

    PASSPHRASE = "passphrase"  # noqa: S105 - a kind name, not a secret
    FILE = "file"
    TOKEN = "token"  # noqa: S105 - a kind name, not a secret


def validate_key_name(name: str) -> str:
    """A key name is also a file name: letters, digits, ``.``, ``_``, ``-``; 64 at most."""
    if not _NAME_RE.fullmatch(name) or name.endswith((".json", ".pem")):
        raise EndorseError(
            f"invalid key name {name!r}",
            hint="use letters, digits, '.', '_' and '-' (at most 64), e.g. 'laptop'",
        )
    return name


@dataclass(frozen=True)
class KeyLabels:
    """The labels a new key carries: its local name, its maintainer, its machine."""

    name: str
    maintainer: str
    machine: str
    created: datetime = field(default_factory=utc_now)

    def __post_init__(self) -> None:
        validate_key_name(self.name)
        if not self.maintainer.strip():
            raise EndorseError("a key needs a maintainer", hint="pass --user <index username>")
        if not self.machine.strip():
            raise EndorseError("a key needs a machine label", hint="pass --machine <label>")

    @property
    def user_inputs(self) -> tuple[str, ...]:
        """Words a passphrase must not lean on (zxcvbn user inputs)."""
        return (self.name, self.maintainer, self.machine)


@dataclass(frozen=True)
class KeyDescriptor:
    """One developer key on one machine: name, kind, where the private half is, public half."""

    name: str
    kind: KeyKind
    uri: str
    public_key: Key
    maintainer: str
    machine: str
    created: datetime
    #: PKCS#11 module the token key was made with (token kind only).
    pkcs11_module: str | None = None

    @property
    def keyid(self) -> str:
        """The public key's id."""
        return self.public_key.keyid

    @property
    def short_keyid(self) -> str:
        """The first twelve hex digits of the key id, for messages."""
        return self.public_key.keyid[:12]

    def public_dict(self) -> dict[str, Any]:
        """What the index needs to register this key: no URI, no salt, no path."""
        return {
            "keyid": self.public_key.keyid,
            "key": self.public_key.to_dict(),
            "maintainer": self.maintainer,
            "machine": self.machine,
            "name": self.name,
            "created": format_time(self.created),
        }

    def to_dict(self) -> dict[str, Any]:
        """The full descriptor as stored in the keystore."""
        return {
            "type": DESCRIPTOR_TYPE,
            "name": self.name,
            "kind": self.kind.value,
            "uri": self.uri,
            "public_key": {"keyid": self.public_key.keyid, "key": self.public_key.to_dict()},
            "maintainer": self.maintainer,
            "machine": self.machine,
            "created": format_time(self.created),
            "pkcs11_module": self.pkcs11_module,
        }

    @classmethod
    def from_dict(cls, data: Any) -> KeyDescriptor:
        """Parse a stored descriptor; ``EndorseError`` quoting the problem when it is malformed."""
        try:
            if not isinstance(data, dict) or data.get("type") != DESCRIPTOR_TYPE:
                raise ValueError(f"not a {DESCRIPTOR_TYPE} document")
            public = data["public_key"]
            module = data.get("pkcs11_module")
            return cls(
                name=validate_key_name(str(data["name"])),
                kind=KeyKind(data["kind"]),
                uri=str(data["uri"]),
                public_key=Key.from_dict(str(public["keyid"]), dict(public["key"])),
                maintainer=str(data["maintainer"]),
                machine=str(data["machine"]),
                created=parse_time(str(data["created"])),
                pkcs11_module=None if module is None else str(module),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise EndorseError(
                f"malformed key descriptor: {e}",
                hint="the descriptor was edited by hand or is from a newer endorse",
            ) from e


def parse_public_dict(data: Any) -> tuple[Key, str]:
    """The public key and maintainer from :meth:`KeyDescriptor.public_dict` output."""
    try:
        if not isinstance(data, dict):
            raise TypeError("not a JSON object")
        key = Key.from_dict(str(data["keyid"]), dict(data["key"]))
        return key, str(data["maintainer"])
    except (KeyError, TypeError, ValueError) as e:
        raise EndorseError(
            f"not a public key as `endorse key show` prints it: {e}",
            hint="on the new machine run `endorse key show NAME > NAME.pub.json`",
        ) from e
