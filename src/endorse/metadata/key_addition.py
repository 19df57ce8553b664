"""An add-key statement: "add this key to maintainer M", signed by M's registered key.

Keys are per machine and never copied. When a maintainer sets up another
machine, they make a new key there and endorse it from a machine whose key
the index already knows::

    {"type": "endorse/add-key/v1",
     "maintainer": "alice",
     "project": "sampleproject",          # optional: limit to one project
     "new_key": {"keyid": "...", "key": {"keytype": "ed25519", ...}},
     "created": "2025-01-31T12:00:00Z"}

The signature is over the canonical JSON of the statement (securesystemslib's
``encode_canonical``, the OLPC canonical JSON that TUF signs), made with any
kind of key through the Signer interface (:mod:`endorse.signing.machines`).
The index calls :func:`verify_key_addition` when a maintainer registers the
new key; it raises on any failure and never returns ``False``. Replaying a
statement only re-adds the same key to the same maintainer. No IO here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from securesystemslib.exceptions import UnverifiedSignatureError
from securesystemslib.formats import encode_canonical
from securesystemslib.signer import Key, Signature

from endorse.errors import KeyAdditionInvalid
from endorse.metadata.dates import format_time, parse_time

__all__ = [
    "ADD_KEY_TYPE",
    "KeyAddition",
    "KeyAdditionInvalid",
    "canonical_json",
    "default_keyid",
    "verify_key_addition",
]

ADD_KEY_TYPE = "endorse/add-key/v1"
_FIELDS = {"type", "maintainer", "project", "new_key", "created"}


def canonical_json(data: Any) -> bytes:
    """OLPC canonical JSON, as TUF signs it."""
    encoded = encode_canonical(data)
    if not isinstance(encoded, str):  # only None when an output_function is given
        raise TypeError("canonical JSON encoding failed")
    return encoded.encode("utf-8")


def default_keyid(key: Key) -> str:
    """The securesystemslib default key id: SHA-256 of the canonical keytype/scheme/keyval."""
    content = {"keytype": key.keytype, "scheme": key.scheme, "keyval": key.to_dict()["keyval"]}
    return hashlib.sha256(canonical_json(content)).hexdigest()


@dataclass(frozen=True)
class KeyAddition:
    """ "Add ``new_key`` to ``maintainer``" (optionally only for ``project``)."""

    maintainer: str
    new_key: Key
    created: datetime
    project: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The statement as JSON data (``project`` only when set)."""
        data: dict[str, Any] = {
            "type": ADD_KEY_TYPE,
            "maintainer": self.maintainer,
            "new_key": {"keyid": self.new_key.keyid, "key": self.new_key.to_dict()},
            "created": format_time(self.created),
        }
        if self.project is not None:
            data["project"] = self.project
        return data

    def signed_bytes(self) -> bytes:
        """What the existing key signs: the canonical JSON of :meth:`to_dict`."""
        return canonical_json(self.to_dict())

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> KeyAddition:
        """Parse a statement received as JSON; KeyAdditionInvalid when malformed."""
        try:
            unknown = set(data) - _FIELDS
            if unknown:
                raise ValueError(f"unknown fields {sorted(unknown)!r}")
            if data["type"] != ADD_KEY_TYPE:
                raise ValueError(f"type is {data['type']!r}, expected {ADD_KEY_TYPE!r}")
            maintainer = data["maintainer"]
            project = data.get("project")
            if not isinstance(maintainer, str) or not maintainer:
                raise ValueError("maintainer must be a non-empty string")
            if project is not None and not isinstance(project, str):
                raise ValueError("project must be a string")
            new_key = data["new_key"]
            key = Key.from_dict(str(new_key["keyid"]), dict(new_key["key"]))
            return cls(maintainer, key, parse_time(str(data["created"])), project)
        except (KeyError, TypeError, ValueError) as e:
            raise KeyAdditionInvalid(f"malformed add-key statement: {e}") from e


def verify_key_addition(
    statement: KeyAddition | Mapping[str, Any],
    signature: Signature,
    existing_public_key: Key,
    *,
    maintainer: str | None = None,
) -> KeyAddition:
    """Check an add-key statement; raise KeyAdditionInvalid on any failure.

    ``existing_public_key`` is a key the index already has registered to the
    statement's maintainer (``maintainer``, when given, must match). Returns
    the parsed statement.
    """
    if not isinstance(statement, KeyAddition):
        statement = KeyAddition.from_dict(statement)
    new_key = statement.new_key
    if maintainer is not None and statement.maintainer != maintainer:
        raise KeyAdditionInvalid(
            f"statement adds a key to {statement.maintainer!r}, not to {maintainer!r}"
        )
    if new_key.keyid != default_keyid(new_key):
        raise KeyAdditionInvalid(
            f"new key id {new_key.keyid!r} is not the SHA-256 of the key it names"
        )
    if new_key.keyid == existing_public_key.keyid:
        raise KeyAdditionInvalid("a key cannot endorse itself")
    try:
        existing_public_key.verify_signature(signature, statement.signed_bytes())
    except UnverifiedSignatureError as e:
        raise KeyAdditionInvalid(
            f"signature on the add-key statement for {new_key.keyid[:12]} does not verify "
            f"with key {existing_public_key.keyid[:12]}",
            hint="sign the statement with `endorse key endorse-machine NEW --by EXISTING`",
        ) from e
    return statement
