"""Offline signing events: administrators sign the next version of ``claimed``.

An event is prepared on the index (what changes is computed and shown),
signed by each administrator on their own machine with an offline key (a file
or a hardware token), and published by the publisher once a threshold of the
``claimed`` keys named in ``targets`` has signed. Publishing moves every
recently-claimed project into ``claimed`` under a new role name (``p-NAME``),
so no role ever has two parents, and applies developer-key changes of
projects already claimed.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from packaging.utils import NormalizedName
from securesystemslib.signer import Key, Signature, Signer
from sqlalchemy import select
from sqlalchemy.orm import Session
from tuf.api.metadata import Delegations, Metadata, Role, Root, Targets

from endorse.clock import Clock, SystemClock
from endorse.errors import EndorseError, NotFound
from endorse.index.claims import (
    CLAIMED_STATE,
    RECENTLY_CLAIMED_STATE,
    claim_keys,
    project_role_name,
)
from endorse.metadata.delegations import project_delegation
from endorse.metadata.roles import CLAIMED, ROOT, TARGETS
from endorse.metadata.storage_keys import ROOT_KEY, event_key
from endorse.settings import Settings
from endorse.storage.blobs import BlobStore
from endorse.storage.db import (
    Database,
    Project,
    ProjectClaim,
    ProjectRoleVersion,
    SigningEvent,
    utcnow,
)
from endorse.storage.published import PublishedMetadata

logger = logging.getLogger(__name__)

OPEN = "open"
READY = "ready"
PUBLISHED = "published"


class EventError(EndorseError):
    """A signing event cannot be prepared, signed or published."""


@dataclass(frozen=True)
class EventStatus:
    """Where an event stands."""

    id: int
    role: str
    version: int
    state: str
    summary: dict[str, Any]
    signatures: int
    threshold: int
    signed_by: list[str]
    #: Whether the signatures meet every threshold the role needs (for root:
    #: the old root's and the new root's).
    complete: bool = False


class SigningEvents:
    """Prepare, sign and publish offline signing events."""

    def __init__(
        self, settings: Settings, db: Database, store: BlobStore, clock: Clock | None = None
    ) -> None:
        self.settings = settings
        self.db = db
        self.store = store
        self.clock = clock or SystemClock()

    def prepare_claimed(self) -> EventStatus:
        """The next ``claimed``: recently-claimed projects moved in, key changes applied."""
        published = PublishedMetadata(self.store, timestamp_ttl=0)
        current = published.role(CLAIMED)
        claimed = copy.deepcopy(current.signed)
        if claimed.delegations is None or claimed.delegations.roles is None:
            claimed.delegations = Delegations(keys={}, roles={})
        delegations = claimed.delegations
        assert delegations.roles is not None  # noqa: S101 - set just above
        moved: list[str] = []
        changed: list[str] = []
        fingerprints: dict[str, list[str]] = {}
        with self.db.session() as session:
            _refuse_if_open(session)
            rows = session.execute(
                select(ProjectClaim, Project.name).join(
                    Project, Project.id == ProjectClaim.project_id
                )
            ).all()
            for claim, raw_name in rows:
                name = NormalizedName(raw_name)
                has_version = session.scalar(
                    select(ProjectRoleVersion.id).where(
                        ProjectRoleVersion.project_id == claim.project_id
                    )
                )
                if claim.state == RECENTLY_CLAIMED_STATE and has_version:
                    moved.append(name)
                elif not (claim.state == CLAIMED_STATE and claim.delegation_dirty):
                    continue
                else:
                    changed.append(name)
                maintainers = claim_keys(session, claim.project_id)
                fingerprints[name] = _fingerprint(maintainers, claim.threshold)
                role = project_role_name(name, CLAIMED_STATE)
                delegations.roles[role] = project_delegation(
                    role, name, maintainers, claim.threshold
                )
                for keys in maintainers.values():
                    delegations.keys.update({k.keyid: k for k in keys})
            used = {k for r in delegations.roles.values() for k in r.keyids}
            delegations.keys = {k: v for k, v in delegations.keys.items() if k in used}
            claimed.version = current.signed.version + 1
            claimed.expires = self.clock.now() + self.settings.expiry.claimed
            summary: dict[str, Any] = {
                "moved": sorted(moved),
                "keys_changed": sorted(changed),
                "fingerprints": fingerprints,
            }
            event = SigningEvent(
                role=CLAIMED, version=claimed.version, blob_key="", summary=summary
            )
            session.add(event)
            session.flush()
            event.blob_key = event_key(event.id)
            self.store.put(event.blob_key, Metadata(claimed).to_bytes())
            event_id = event.id
        logger.info("prepared signing event %d: claimed v%d %s", event_id, claimed.version, summary)
        return self.status(event_id)

    def prepare_keys(self, role: str, changes: list[KeyChange]) -> EventStatus:
        """The next root or targets: keys added or removed, thresholds set, expiry renewed.

        ``role`` is ``root`` (changes to the root and targets keys; signed by a
        threshold of the old AND the new root keys) or ``targets`` (changes to
        the claimed keys; signed by the targets keys). Online keys rotate with
        ``endorse admin recover``.
        """
        if role not in (ROOT, TARGETS):
            raise EventError(f"key events are for root or targets, not {role!r}")
        published = PublishedMetadata(self.store, timestamp_ttl=0)
        if role == ROOT:
            md: Metadata[Any] = Metadata[Root].from_bytes(self.store.get(ROOT_KEY))
        else:
            md = copy.deepcopy(published.role(TARGETS))
        signed = md.signed
        described = [_apply_change(signed, change) for change in changes]
        signed.version += 1
        lifetime = self.settings.expiry.root if role == ROOT else self.settings.expiry.targets
        signed.expires = self.clock.now() + lifetime
        described.append(f"expiry renewed to {signed.expires.isoformat()}")
        md.signatures.clear()
        with self.db.session() as session:
            _refuse_if_open(session)
            event = SigningEvent(
                role=role, version=signed.version, blob_key="", summary={"changes": described}
            )
            session.add(event)
            session.flush()
            event.blob_key = event_key(event.id)
            self.store.put(event.blob_key, md.to_bytes())
            event_id = event.id
        logger.info(
            "prepared signing event %d: %s v%d %s", event_id, role, signed.version, described
        )
        return self.status(event_id)

    def status(self, event_id: int) -> EventStatus:
        """What an event changes and how many signatures it has."""
        with self.db.read_session() as session:
            event = session.get(SigningEvent, event_id)
            if event is None:
                raise NotFound(f"no signing event {event_id}")
            role, version, state = event.role, event.version, event.state
            summary = dict(event.summary)
        md = Metadata[Any].from_bytes(self.store.get(event_key(event_id)))
        signed, threshold, complete = self._verification(role, md, md.signatures)
        return EventStatus(
            event_id,
            role,
            version,
            state,
            summary,
            len(signed),
            threshold,
            sorted(signed),
            complete,
        )

    def _verification(
        self, role: str, md: Metadata[Any], signatures: dict[str, Signature]
    ) -> tuple[set[str], int, bool]:
        """Valid signing key ids, the threshold, and whether it is met."""
        published = PublishedMetadata(self.store, timestamp_ttl=0)
        if role == ROOT:
            old_root = Metadata[Root].from_bytes(self.store.get(ROOT_KEY)).signed
            new_root = md.signed
            assert isinstance(new_root, Root)  # noqa: S101 - root events hold Root
            old = old_root.get_verification_result(ROOT, md.signed_bytes, signatures)
            new = new_root.get_verification_result(ROOT, md.signed_bytes, signatures)
            threshold = max(old.threshold, new.threshold)
            return set(old.signed) | set(new.signed), threshold, old.verified and new.verified
        if role == TARGETS:
            delegator: Root | Targets = Metadata[Root].from_bytes(self.store.get(ROOT_KEY)).signed
        else:
            delegator = published.role(TARGETS).signed
        result = delegator.get_verification_result(role, md.signed_bytes, signatures)
        return set(result.signed), result.threshold, result.verified

    def open_events(self) -> list[EventStatus]:
        """Events not yet published."""
        with self.db.read_session() as session:
            ids = list(
                session.scalars(
                    select(SigningEvent.id).where(SigningEvent.state.in_([OPEN, READY]))
                )
            )
        return [self.status(i) for i in ids]

    def metadata(self, event_id: int) -> bytes:
        """The event's metadata with the signatures so far (to sign elsewhere)."""
        return self.store.get(event_key(event_id))

    def sign(self, event_id: int, signers: list[Signer]) -> EventStatus:
        """Add administrators' signatures (each on their own machine)."""
        md = Metadata[Any].from_bytes(self.metadata(event_id))
        for signer in signers:
            md.sign(signer, append=True)
        return self.add_signatures(event_id, md.to_bytes())

    def add_signatures(self, event_id: int, signed: bytes) -> EventStatus:
        """Merge signatures made elsewhere over the same metadata (each is checked)."""
        status = self.status(event_id)
        if status.state != OPEN:
            raise EventError(f"signing event {event_id} is {status.state}")
        md = Metadata[Any].from_bytes(self.metadata(event_id))
        theirs = Metadata[Any].from_bytes(signed)
        if theirs.signed_bytes != md.signed_bytes:
            raise EventError("those signatures are over different metadata than the event's")
        for keyid, signature in theirs.signatures.items():
            valid, _, _ = self._verification(status.role, md, {keyid: signature})
            if not valid:
                raise EventError(f"signature by key {keyid[:12]} is not valid for {status.role}")
            md.signatures[keyid] = signature
        self.store.put(event_key(event_id), md.to_bytes())
        return self.status(event_id)

    def publish(self, event_id: int) -> EventStatus:
        """Hand a fully signed event to the publisher (it publishes in the next batch)."""
        status = self.status(event_id)
        if status.state != OPEN:
            raise EventError(f"signing event {event_id} is {status.state}")
        if not status.complete:
            raise EventError(
                f"signed by {status.signatures} of the {status.threshold} keys needed",
                hint="more administrators must sign: `endorse admin event sign-file`",
            )
        with self.db.session() as session:
            event = session.get(SigningEvent, event_id)
            assert event is not None  # noqa: S101
            event.state = READY
            names = set(status.summary.get("moved", [])) | set(
                status.summary.get("keys_changed", [])
            )
            for project in session.scalars(select(Project).where(Project.name.in_(names))):
                claim = session.get(ProjectClaim, project.id)
                if claim is None:
                    continue
                claim.state = CLAIMED_STATE
                # Keys that changed after the event was prepared wait for the next one.
                signed_for = status.summary.get("fingerprints", {}).get(project.name)
                current = _fingerprint(claim_keys(session, project.id), claim.threshold)
                claim.delegation_dirty = signed_for != current
        logger.info("signing event %d is ready to publish", event_id)
        return self.status(event_id)


def _refuse_if_open(session: Session) -> None:
    """One event at a time: each is prepared from the published state."""
    if session.scalar(select(SigningEvent.id).where(SigningEvent.state.in_([OPEN, READY]))):
        raise EventError(
            "another signing event is open",
            hint="publish it first (`endorse admin event list`)",
        )


def _fingerprint(maintainers: Mapping[str, list[Key]], threshold: int) -> list[str]:
    """What a project's delegation says: its key ids and threshold (JSON-friendly)."""
    return [*sorted(k.keyid for keys in maintainers.values() for k in keys), f"t={threshold}"]


@dataclass(frozen=True)
class KeyChange:
    """One change of a key event: ``add`` a key, ``remove`` a key id, set a ``threshold``."""

    action: str
    role: str
    key: Key | None = None
    keyid: str | None = None
    threshold: int | None = None


#: Roles whose keys a key event may change. Online keys (timestamp, snapshot,
#: bins, unclaimed, recently-claimed) rotate with `endorse admin recover`, which
#: also replaces the publisher's keyring.
KEY_EVENT_ROLES = {ROOT: (ROOT, TARGETS), TARGETS: (CLAIMED,)}


def _apply_change(signed: Root | Targets, change: KeyChange) -> str:
    allowed = KEY_EVENT_ROLES[ROOT if isinstance(signed, Root) else TARGETS]
    if change.role not in allowed:
        raise EventError(
            f"this event cannot change the keys of {change.role!r}",
            hint="online keys rotate with `endorse admin recover`",
        )
    if isinstance(signed, Root):
        roles: Mapping[str, Role] = signed.roles
    else:
        delegations = signed.delegations
        roles = delegations.roles if delegations and delegations.roles else {}
    if change.role not in roles:
        raise EventError(f"{signed.type} has no role {change.role!r}")
    if change.action == "add" and change.key is not None:
        signed.add_key(change.key, change.role)
        return f"{change.role}: add key {change.key.keyid[:12]}"
    if change.action == "remove" and change.keyid is not None:
        signed.revoke_key(change.keyid, change.role)
        return f"{change.role}: remove key {change.keyid[:12]}"
    if change.action == "threshold" and change.threshold:
        roles[change.role].threshold = change.threshold
        return f"{change.role}: threshold {change.threshold}"
    raise EventError(f"not a key change: {change}")


def ready_events(db: Database) -> list[tuple[int, str, list[str]]]:
    """Events the publisher must publish: ``(id, role, moved projects)``."""
    with db.read_session() as session:
        rows = session.scalars(
            select(SigningEvent).where(SigningEvent.state == READY).order_by(SigningEvent.id)
        ).all()
        result = []
        for e in rows:
            moved = e.summary.get("moved", [])
            result.append(
                (e.id, e.role, [str(n) for n in moved] if isinstance(moved, list) else [])
            )
        return result


def mark_published(db: Database, event_ids: list[int], when: datetime | None = None) -> None:
    """Record that the publisher published these events."""
    with db.session() as session:
        for event_id in event_ids:
            event = session.get(SigningEvent, event_id)
            if event is not None:
                event.state = PUBLISHED
                event.published = when or utcnow()
