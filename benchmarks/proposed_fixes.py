#!/usr/bin/env python3
"""Run ``endorse`` with proposed performance fixes applied by monkeypatching.

For measuring a change before it is made in ``src/`` (see
docs/performance.md, F1-F3); never for serving anything. Usage::

    python benchmarks/proposed_fixes.py FIXES endorse-arguments...
    .venv/bin/python benchmarks/bench_upload.py \\
        --endorse ".venv/bin/python benchmarks/proposed_fixes.py nodelay,snapshot,onepass"

FIXES is a comma-separated list of:

nodelay
    F1: create the listening socket with ``IPPROTO_TCP`` so that asyncio
    sets ``TCP_NODELAY`` on every connection (no 40 ms Nagle/delayed-ACK
    stall per keep-alive response).
snapshot
    F2: ``StoredRepository.open()`` gives the snapshot a shallow copy (its
    ``MetaFile`` values are replaced, never mutated), and ``do_snapshot``
    skips re-verifying our own last snapshot on every batch.
canonical
    Sign with canonical JSON from the C ``json`` encoder (falls back to
    securesystemslib when anything needed escaping). Subsumed by onepass.
onepass
    F3: sign those canonical bytes once and write the metadata file around
    them instead of serialising the whole envelope again (byte-identical
    output for ASCII metadata; anything else takes the old path).
"""

from __future__ import annotations

import copy
import importlib
import json
import socket as _socket
import sys
import types
from typing import Any

from securesystemslib.formats import encode_canonical
from tuf.api.metadata import Metadata
from tuf.api.serialization import MetadataSerializer, SignedSerializer
from tuf.repository import AbortEdit

from endorse.metadata.roles import SNAPSHOT
from endorse.repository import tufrepo
from endorse.repository.keys import role_kind


def fix_nodelay() -> None:
    serve_mod = importlib.import_module("endorse.cli.serve")  # the package re-exports the command

    def tcp_socket(
        family: int = _socket.AF_INET, type: int = _socket.SOCK_STREAM, proto: int = 0
    ) -> _socket.socket:
        return _socket.socket(family, type, proto or _socket.IPPROTO_TCP)

    shim = types.SimpleNamespace(
        **{n: getattr(_socket, n) for n in dir(_socket) if not n.startswith("__")}
    )
    shim.socket = tcp_socket
    serve_mod.socket = shim  # type: ignore[attr-defined]


def fix_snapshot() -> None:
    original_open = tufrepo.StoredRepository.open

    def open_(self: tufrepo.StoredRepository, role: str) -> Metadata[Any]:
        md = self._md.get(role)
        if role != SNAPSHOT or md is None:
            return original_open(self, role)
        signed = copy.copy(md.signed)
        signed.meta = dict(md.signed.meta)
        signed.unrecognized_fields = dict(md.signed.unrecognized_fields)
        return Metadata(signed, dict(md.signatures), dict(md.unrecognized_fields))

    def do_snapshot(
        self: tufrepo.StoredRepository, force: bool = False
    ) -> tuple[bool, dict[str, Any]]:
        removed: dict[str, Any] = {}
        update = force
        with self.edit_snapshot() as snapshot:
            for key, new in self.targets_infos.items():
                old = snapshot.meta.get(key)
                if old is None or new.version > old.version:
                    update = True
                    snapshot.meta[key] = new
                    if old is not None:
                        removed[key] = old
                elif new.version < old.version:
                    raise ValueError(f"{key} version rollback")
            if not update:
                raise AbortEdit("no targets version changed")
        return update, removed

    tufrepo.StoredRepository.open = open_  # type: ignore[method-assign]
    tufrepo.StoredRepository.do_snapshot = do_snapshot  # type: ignore[method-assign,assignment]


class FastCanonical(SignedSerializer):
    """OLPC canonical JSON through the C encoder, when no string needed escaping."""

    def serialize(self, signed_obj: Any) -> bytes:
        data = signed_obj.to_dict()
        text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        if "\\" in text or not text.isascii():
            return encode_canonical(data).encode("utf-8")  # type: ignore[no-any-return]
        return text.encode("utf-8")


def fix_canonical() -> None:
    serializer = FastCanonical()

    def sign(self: tufrepo.StoredRepository, role: str, md: Metadata[Any]) -> None:
        md.signatures.clear()
        for signer in self.keyring.signers(role_kind(role)):
            md.sign(signer, append=True, signed_serializer=serializer)

    tufrepo.StoredRepository.sign = sign  # type: ignore[method-assign]


def fix_onepass() -> None:
    canonical = FastCanonical()
    fallback = tufrepo._SERIALIZER

    class Envelope(MetadataSerializer):
        def serialize(self, metadata_obj: Any) -> bytes:
            signed_bytes = getattr(metadata_obj, "_bench_canonical", None)
            if signed_bytes is None:
                return fallback.serialize(metadata_obj)
            metadata_obj._bench_canonical = None
            sigs = json.dumps(
                [s.to_dict() for s in metadata_obj.signatures.values()],
                sort_keys=True,
                separators=(",", ":"),
            )
            return b'{"signatures":' + sigs.encode() + b',"signed":' + signed_bytes + b"}"

    def sign(self: tufrepo.StoredRepository, role: str, md: Metadata[Any]) -> None:
        md.signatures.clear()
        signed_bytes = canonical.serialize(md.signed)
        for signer in self.keyring.signers(role_kind(role)):
            signature = signer.sign(signed_bytes)
            md.signatures[signature.keyid] = signature
        md._bench_canonical = signed_bytes if not md.unrecognized_fields else None  # type: ignore[attr-defined]

    tufrepo.StoredRepository.sign = sign  # type: ignore[method-assign]
    tufrepo._SERIALIZER = Envelope()


FIXES = {
    "nodelay": fix_nodelay,
    "snapshot": fix_snapshot,
    "canonical": fix_canonical,
    "onepass": fix_onepass,
}


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    wanted = [f for f in sys.argv.pop(1).split(",") if f]
    unknown = [f for f in wanted if f not in FIXES]
    if unknown:
        sys.exit(f"unknown fix(es) {unknown}; choose from {sorted(FIXES)}")
    for name in wanted:
        FIXES[name]()
    from endorse.cli import main as endorse_main

    sys.argv[0] = "endorse"
    endorse_main()


if __name__ == "__main__":
    main()
