"""``tuf.repository.Repository`` over a blob store: the publisher's working set.

Writes follow the order that keeps every published state valid: a role's new
version is written first under its new name (``V.ROLE.json``), snapshot after
the roles it lists, and ``timestamp.json`` last. Until the timestamp is
replaced no client can reach anything new, so a crash at any point leaves the
previous state published and whole; the next run rewrites the unpublished
versions from that state.
"""

from __future__ import annotations

import copy
import hashlib
import logging
from datetime import datetime, timedelta
from typing import Any

from tuf.api.metadata import (
    Metadata,
    MetaFile,
    Root,
    Snapshot,
    Targets,
    Timestamp,
)
from tuf.repository import AbortEdit, Repository

from endorse.clock import Clock
from endorse.errors import PublishError
from endorse.metadata.roles import (
    CLAIMED,
    RECENTLY_CLAIMED,
    ROOT,
    SNAPSHOT,
    TARGETS,
    TIMESTAMP,
    UNCLAIMED,
)
from endorse.metadata.storage_keys import ROOT_KEY, TIMESTAMP_KEY, metadata_key
from endorse.publisher.canonical import metadata_bytes, sign_metadata
from endorse.publisher.keyring import Keyring, role_kind
from endorse.settings import Expiry
from endorse.storage.blobs import BlobStore

logger = logging.getLogger(__name__)


class StoredRepository(Repository):
    """The newest metadata of every role, edited in memory and written on close."""

    def __init__(
        self,
        store: BlobStore,
        keyring: Keyring,
        expiry: Expiry,
        clock: Clock,
    ) -> None:
        self.store = store
        self.keyring = keyring
        self.expiry = expiry
        self.clock = clock
        self._md: dict[str, Metadata[Any]] = {}
        self._targets_infos: dict[str, MetaFile] = {}
        self._snapshot_info = MetaFile(1)
        #: Roles written since the last ``take_written()``, with their new expiry.
        self._written: dict[str, tuple[int, datetime]] = {}

    # -- loading -------------------------------------------------------------

    def load(self) -> int:
        """Load the published state (timestamp, snapshot, root); return timestamp version."""
        self._md.clear()
        timestamp_md = Metadata[Timestamp].from_bytes(self.store.get(TIMESTAMP_KEY))
        snapshot_version = timestamp_md.signed.snapshot_meta.version
        snapshot_md = Metadata[Snapshot].from_bytes(
            self.store.get(metadata_key(SNAPSHOT, snapshot_version))
        )
        root_md = Metadata[Root].from_bytes(self.store.get(ROOT_KEY))
        self._md[TIMESTAMP] = timestamp_md
        self._md[SNAPSHOT] = snapshot_md
        self._md[ROOT] = root_md
        self._targets_infos = dict(snapshot_md.signed.meta)
        self._snapshot_info = timestamp_md.signed.snapshot_meta
        self._written.clear()
        return timestamp_md.signed.version

    def published_timestamp_version(self) -> int:
        """The version of ``timestamp.json`` in storage now."""
        raw = self.store.get(TIMESTAMP_KEY)
        return Metadata[Timestamp].from_bytes(raw).signed.version

    @property
    def loaded_timestamp_version(self) -> int | None:
        """The timestamp version of the working set, or None before ``load()``."""
        md = self._md.get(TIMESTAMP)
        return md.signed.version if md else None

    # -- tuf.repository.Repository --------------------------------------------

    def open(self, role: str) -> Metadata[Any]:
        """A copy of a role's newest metadata, to edit: the working set changes only
        when :meth:`close` (or :meth:`write`) stores it, so after ``AbortEdit``
        nothing changed, as ``tuf.repository`` promises.

        The copy is of the containers, not of their entries: a ``TargetFile``,
        ``MetaFile`` or ``Key`` in it is shared with the working set and is
        replaced by an edit, never changed. Deep-copying a PyPI-scale snapshot
        twice per batch cost most of a batch's time.
        """
        return _copy_for_edit(self.read(role))

    def read(self, role: str) -> Metadata[Any]:
        """A role's newest metadata in the working set, to read only."""
        md = self._md.get(role)
        if md is None:
            md = self._read(role)
            self._md[role] = md
        return md

    def close(self, role: str, md: Metadata[Any]) -> None:
        """Bump version and expiry, sign with the role's keys, write ``V.ROLE.json``."""
        md.signed.version += 1
        md.signed.expires = self.clock.now() + self._lifetime(role)
        self.write(role, md, self.sign(role, md))

    def do_snapshot(self, force: bool = False) -> tuple[bool, dict[str, MetaFile]]:
        """python-tuf's ``do_snapshot``, without verifying our own last snapshot.

        Upstream checks the last snapshot's signatures on every call, to
        notice a rotated snapshot key: a canonical serialisation and signature
        check of 16,388 entries per batch at PyPI's bin count. Only this class
        signs the snapshot, so comparing its key ids with root's snapshot role
        notices the same rotation. Entries are shared, not copied: a
        ``MetaFile`` here is replaced, never changed.
        """
        root = self.read(ROOT).signed
        assert isinstance(root, Root)  # noqa: S101 - load() reads root as Root
        snapshot_role = root.get_delegated_role(SNAPSHOT)
        signed_by = set(self.read(SNAPSHOT).signatures) & set(snapshot_role.keyids)
        update = force or len(signed_by) < snapshot_role.threshold
        removed: dict[str, MetaFile] = {}
        with self.edit_snapshot() as snapshot:
            for name, new in self.targets_infos.items():
                old = snapshot.meta.get(name)
                if old is not None and new.version < old.version:
                    raise ValueError(f"{name} version rollback")
                if old is None or new.version > old.version:
                    update = True
                    snapshot.meta[name] = new
                    if old is not None:
                        removed[name] = old
            if not update:
                raise AbortEdit("no targets version changed")
        return update, removed

    @property
    def targets_infos(self) -> dict[str, MetaFile]:
        """Versions of every targets role, as the next snapshot must list them."""
        return self._targets_infos

    @property
    def snapshot_info(self) -> MetaFile:
        """Version of the newest snapshot, as the next timestamp must name it."""
        return self._snapshot_info

    # -- writing -------------------------------------------------------------

    def sign(self, role: str, md: Metadata[Any]) -> bytes | None:
        """Replace a role's signatures with those of its keys.

        Returns the signed bytes for :meth:`write` when they can be written as
        they are (see :func:`endorse.publisher.canonical.sign_metadata`).
        """
        return sign_metadata(md, self.keyring.signers(role_kind(role)))

    def write(self, role: str, md: Metadata[Any], signed_bytes: bytes | None = None) -> None:
        """Store signed metadata under its consistent-snapshot name.

        ``signed_bytes``, from :meth:`sign`, saves serialising the role again.
        """
        data = metadata_bytes(md, signed_bytes)
        version = md.signed.version
        if role == TIMESTAMP:
            self.store.put(TIMESTAMP_KEY, data)
        else:
            self.store.put(metadata_key(role, version), data)
            if role == ROOT:
                self.store.put(ROOT_KEY, data)
        if isinstance(md.signed, Targets):
            self._targets_infos[f"{role}.json"] = meta_file(role, version, data)
        elif isinstance(md.signed, Snapshot):
            self._snapshot_info = MetaFile(version, len(data), {"sha256": _sha256(data)})
        self._md[role] = md
        self._written[role] = (version, md.signed.expires)
        logger.debug("wrote %s v%d", role, version)

    def invalidate(self) -> None:
        """Forget the working set; the next ``load()`` re-reads published state."""
        self._md.clear()
        self._written.clear()

    def was_written(self, role: str) -> bool:
        """Whether a role was written since the last ``take_written()``."""
        return role in self._written

    def write_signed(self, role: str, data: bytes) -> Metadata[Any]:
        """Publish metadata someone else signed (developers, administrators) as is."""
        md = Metadata[Any].from_bytes(data)
        version = md.signed.version
        self.store.put(metadata_key(role, version), data)
        if role == ROOT:
            self.store.put(ROOT_KEY, data)
        known = self._targets_infos.get(f"{role}.json")
        if isinstance(md.signed, Targets) and (known is None or known.version <= version):
            self._targets_infos[f"{role}.json"] = meta_file(role, version, data)
        self._md[role] = md
        self._written[role] = (version, md.signed.expires)
        logger.debug("wrote %s v%d", role, version)
        return md

    def take_written(self) -> dict[str, tuple[int, datetime]]:
        """Roles written since the last call, with version and expiry."""
        written, self._written = self._written, {}
        return written

    def expires(self, role: str) -> datetime:
        """The expiry of a role's newest metadata."""
        expires: datetime = self.read(role).signed.expires
        return expires

    def _read(self, role: str) -> Metadata[Any]:
        if role in (TIMESTAMP, SNAPSHOT, ROOT):
            raise PublishError(f"{role} was not loaded", hint="call load() first")
        meta = self._targets_infos.get(f"{role}.json")
        if meta is None:
            raise PublishError(f"role {role!r} is not in the snapshot")
        return Metadata.from_bytes(self.store.get(metadata_key(role, meta.version)))

    def _lifetime(self, role: str) -> timedelta:
        return self.expiry.for_role_kind(role_kind(role))


#: Roles whose snapshot entry also carries length and hash. Without them, the
#: key of a role alone (not the snapshot key) could forge a version for a client
#: that has not cached that role. Bins are left out: 16,384 hashes would push
#: snapshot past ngclient's 2 MB limit; their key is the snapshot's host anyway.
HASHED_ROLES = frozenset({TARGETS, CLAIMED, RECENTLY_CLAIMED, UNCLAIMED})


def meta_file(role: str, version: int, data: bytes) -> MetaFile:
    """The snapshot entry of a targets role."""
    if role in HASHED_ROLES:
        return MetaFile(version, len(data), {"sha256": _sha256(data)})
    return MetaFile(version)


def _copy_for_edit(md: Metadata[Any]) -> Metadata[Any]:
    """``md`` with copied containers and shared entries (see :meth:`StoredRepository.open`)."""
    signed = md.signed
    if isinstance(signed, Snapshot):
        copied: Any = copy.copy(signed)
        copied.meta = dict(signed.meta)
    elif isinstance(signed, Targets):
        copied = copy.copy(signed)
        copied.targets = dict(signed.targets)
        copied.delegations = copy.deepcopy(signed.delegations)
    else:  # root, timestamp: small
        copied = copy.deepcopy(signed)
    copied.unrecognized_fields = copy.deepcopy(signed.unrecognized_fields)
    return Metadata(copied, dict(md.signatures), copy.deepcopy(md.unrecognized_fields))


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
