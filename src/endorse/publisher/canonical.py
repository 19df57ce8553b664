"""Signing and serialising metadata in one pass, with the C JSON encoder.

python-tuf serialises a role to canonical JSON in pure Python to sign it, and
then serialises the whole envelope again to write it. At 16,384 bins the
snapshot lists 16,388 roles and those two passes were most of a batch. Here
the canonical bytes come from ``json.dumps`` (C): for every document whose
strings need no escape it produces exactly the OLPC canonical JSON that
securesystemslib does (same key order, same separators, UTF-8 left as is;
that encoder escapes only ``"`` and ``\\``, which ``json.dumps`` escapes too). Any
backslash in the output means something was escaped, and then the bytes come
from securesystemslib instead. The file written embeds the C encoder's bytes,
so what was signed is byte for byte what a client reads; securesystemslib's
bytes are not always JSON (raw control characters), so those files are
serialised by python-tuf as before.
"""

from __future__ import annotations

import json
from typing import Any

from securesystemslib.formats import encode_canonical
from securesystemslib.signer import Signer
from tuf.api.metadata import Metadata, Signed
from tuf.api.serialization.json import JSONSerializer

__all__ = ["canonical_bytes", "metadata_bytes", "sign_metadata"]

_COMPACT = JSONSerializer(compact=True)


def canonical_bytes(signed: Signed) -> bytes:
    """The OLPC canonical JSON of ``signed``: the bytes its signatures cover."""
    return _encode(signed)[0]


def sign_metadata(md: Metadata[Any], signers: list[Signer]) -> bytes | None:
    """Replace ``md``'s signatures with those of ``signers``.

    Returns the signed bytes when they can be written as they are inside the
    metadata file, or None: canonical JSON leaves control characters raw (a
    PEM key's newlines), which JSON does not allow inside a string.
    """
    signed_bytes, is_json = _encode(md.signed)
    md.signatures.clear()
    for signer in signers:
        signature = signer.sign(signed_bytes)
        md.signatures[signature.keyid] = signature
    return signed_bytes if is_json else None


def metadata_bytes(md: Metadata[Any], signed_bytes: bytes | None = None) -> bytes:
    """The metadata file: its signatures around ``signed_bytes`` when given.

    Without ``signed_bytes`` (or with fields python-tuf does not know in the
    envelope) it is python-tuf's own compact serialisation.
    """
    if signed_bytes is None or md.unrecognized_fields:
        return md.to_bytes(_COMPACT)
    signatures = json.dumps(
        [s.to_dict() for s in md.signatures.values()], sort_keys=True, separators=(",", ":")
    )
    return b'{"signatures":' + signatures.encode("ascii") + b',"signed":' + signed_bytes + b"}"


def _encode(signed: Signed) -> tuple[bytes, bool]:
    """Canonical bytes, and whether they are also valid JSON (the C path)."""
    data = signed.to_dict()
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if "\\" in text:
        return str(encode_canonical(data)).encode("utf-8"), False
    return text.encode("utf-8"), True
