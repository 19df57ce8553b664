"""Keyrings: which signer signs each role kind, stored as URIs, never as key bytes.

A keyring file (``keys/online.json``) maps a role kind to securesystemslib
private-key URIs and the matching public keys::

    {"timestamp": [{"uri": "file2:/srv/endorse/keys/online/timestamp.pem",
                    "public": {"keyid": "...", "key": {"keytype": "ed25519", ...}}}],
     "snapshot": [...], "bins": [...], "unclaimed": [...], "recently_claimed": [...]}

Any scheme securesystemslib knows works (``file2:``, ``hsm:``, ``awskms:``,
``gcpkms:``, ``azurekms:``, ``hv:``), so moving the online keys into a KMS or
an HSM is a change of this file, not of code.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from securesystemslib.signer import CryptoSigner, Key, SecretsHandler, Signer
from tuf.api.metadata import Metadata

from endorse.errors import KeyUnavailable
from endorse.metadata.roles import is_bin

logger = logging.getLogger(__name__)

ONLINE_KINDS = ("timestamp", "snapshot", "bins", "unclaimed", "recently_claimed")
OFFLINE_KINDS = ("root", "targets", "claimed")
DEMO_WARNING = (
    "DEMO KEYS - NOT FOR PRODUCTION. These keys were generated on this machine by "
    "`endorse serve` for a demo index. Offline roles (root, targets, claimed) must be "
    "signed with keys that never touch an online server: see docs/operations.md."
)


@dataclass(frozen=True)
class KeyEntry:
    """One private key URI and its public key."""

    uri: str
    public: Key


class Keyring:
    """Role kind -> keys, loaded lazily into signers."""

    def __init__(
        self,
        entries: Mapping[str, list[KeyEntry]],
        secrets_handler: SecretsHandler | None = None,
    ) -> None:
        self.entries = dict(entries)
        #: Asked for a PIN or password when a key needs one (``hsm:`` tokens, ...).
        self.secrets_handler = secrets_handler
        self._signers: dict[str, list[Signer]] = {}

    @classmethod
    def load(cls, path: Path, secrets_handler: SecretsHandler | None = None) -> Keyring:
        """Read a keyring file."""
        try:
            raw = json.loads(path.read_text())
        except (OSError, ValueError) as e:
            raise KeyUnavailable(
                f"cannot read keyring {str(path)!r}: {e}",
                hint="run `endorse admin init` or check ENDORSE_DATA_DIR",
            ) from e
        entries: dict[str, list[KeyEntry]] = {}
        for kind, items in raw.items():
            if kind.startswith("_"):
                continue
            entries[kind] = [
                KeyEntry(
                    item["uri"],
                    Key.from_dict(item["public"]["keyid"], dict(item["public"]["key"])),
                )
                for item in items
            ]
        return cls(entries, secrets_handler)

    def save(self, path: Path, *, note: str = "") -> None:
        """Write the keyring atomically."""
        raw: dict[str, object] = {}
        if note:
            raw["_note"] = note
        for kind, items in self.entries.items():
            raw[kind] = [
                {"uri": e.uri, "public": {"keyid": e.public.keyid, "key": e.public.to_dict()}}
                for e in items
            ]
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(raw, indent=2, sort_keys=True) + "\n")
        os.replace(tmp, path)

    def public_keys(self, kind: str) -> tuple[Key, ...]:
        """The public keys of a role kind."""
        return tuple(e.public for e in self.entries.get(kind, []))

    def signers(self, kind: str) -> list[Signer]:
        """Signers for a role kind (loaded once)."""
        if kind not in self._signers:
            entries = self.entries.get(kind)
            if not entries:
                raise KeyUnavailable(
                    f"no key for role kind {kind!r} in this keyring",
                    hint="offline roles are signed in `endorse admin` signing events",
                )
            loaded = []
            for entry in entries:
                try:
                    loaded.append(
                        Signer.from_priv_key_uri(entry.uri, entry.public, self.secrets_handler)
                    )
                except Exception as e:
                    raise KeyUnavailable(
                        f"cannot load key {entry.public.keyid[:12]} for {kind!r}: {e}"
                    ) from e
            self._signers[kind] = loaded
        return self._signers[kind]

    def has(self, kind: str) -> bool:
        """Whether the keyring holds keys for a role kind."""
        return bool(self.entries.get(kind))

    def add_signatures(self, kind: str, metadata: bytes) -> bytes:
        """``metadata`` with the signatures of this keyring's ``kind`` keys added (an
        administrator signing a signing event on an offline machine)."""
        md = Metadata[Any].from_bytes(metadata)
        for signer in self.signers(kind):
            md.sign(signer, append=True)
        return md.to_bytes()


def role_kind(role: str) -> str:
    """The keyring kind that signs a role name."""
    return "bins" if is_bin(role) else role.replace("-", "_")


def generate_file_keys(folder: Path, kinds: tuple[str, ...]) -> Keyring:
    """Generate one Ed25519 key file per kind (mode 0600) and return the keyring."""
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    entries: dict[str, list[KeyEntry]] = {}
    for kind in kinds:
        signer = CryptoSigner.generate_ed25519()
        path = (folder / f"{kind}.pem").resolve()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(signer.private_bytes)
        entries[kind] = [KeyEntry(f"file2:{path}", signer.public_key)]
        logger.info("generated %s key %s", kind, signer.public_key.keyid[:12])
    return Keyring(entries)
