"""Offline signing events: administrators sign the next version of an offline role.

An event is prepared on the index (what changes is computed and shown),
signed by each administrator on their own machine with an offline key (a file
or a hardware token; ``endorse admin event sign-file``), its signatures are
brought back and checked here, and the publisher publishes it once a
threshold of the role's keys has signed. A ``claimed`` event moves every
recently-claimed project into ``claimed`` under a new role name (``p-NAME``),
so no role ever has two parents, and applies developer-key changes of
projects already claimed. Nothing here signs.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from securesystemslib.signer import Key, Signature
from tuf.api.metadata import Delegations, Metadata, Role, Root, Targets

from endorse.clock import Clock, SystemClock
from endorse.errors import Conflict, InvalidRequest, NotFound, PermissionDenied
from endorse.metadata.delegations import drop_unused_keys, project_delegation
from endorse.metadata.roles import CLAIMED, ROOT, TARGETS, RoleName, project_role
from endorse.metadata.storage_keys import event_key
from endorse.settings import Settings
from endorse.states import ClaimState, EventState
from endorse.storage import BlobStore
from endorse.storage.db import Database, Session, SigningEvent, queries
from endorse.storage.published import PublishedMetadata

logger = logging.getLogger(__name__)

__all__ = ["KEY_EVENT_ROLES", "EventStatus", "KeyChange", "KeyChangeAction", "SigningEvents"]

#: Roles whose keys a key event may change. Online keys (timestamp, snapshot,
#: bins, unclaimed, recently-claimed) rotate with `endorse admin recover`, which
#: also replaces the publisher's keyring.
KEY_EVENT_ROLES = {ROOT: (ROOT, TARGETS), TARGETS: (CLAIMED,)}


@dataclass(frozen=True)
class EventStatus:
    """Where an event stands."""

    id: int
    role: str
    version: int
    state: EventState
    summary: dict[str, Any]
    signatures: int
    threshold: int
    signed_by: list[str]
    #: Whether the signatures meet every threshold the role needs (for root:
    #: the old root's and the new root's).
    complete: bool = False


class KeyChangeAction(StrEnum):
    """What one change of a key event does."""

    ADD = "add"
    REMOVE = "remove"
    THRESHOLD = "threshold"


@dataclass(frozen=True)
class KeyChange:
    """One change of a key event: add a key, remove a key id, or set a threshold."""

    action: KeyChangeAction
    role: str
    key: Key | None = None
    keyid: str | None = None
    threshold: int | None = None


class SigningEvents:
    """Prepare offline signing events, collect their signatures, hand them to the publisher."""

    def __init__(
        self, settings: Settings, db: Database, store: BlobStore, clock: Clock | None = None
    ) -> None:
        self.settings = settings
        self.db = db
        self.store = store
        self.clock = clock or SystemClock()

    def _published(self) -> PublishedMetadata:
        # Always the newest state: an event is computed from what is published now.
        return PublishedMetadata(self.store, timestamp_ttl=0)

    def prepare_claimed(self) -> EventStatus:
        """The next ``claimed``: recently-claimed projects moved in, key changes applied."""
        current = self._published().role(CLAIMED)
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
            for claim, name in queries.claims(session):
                if claim.state is ClaimState.RECENTLY_CLAIMED and queries.newest_role_version(
                    session, claim.project_id
                ):
                    moved.append(name)
                elif claim.state is ClaimState.CLAIMED and claim.delegation_dirty:
                    changed.append(name)
                else:
                    continue
                maintainers = queries.claim_keys(session, claim.project_id)
                fingerprints[name] = _fingerprint(maintainers, claim.threshold)
                role = project_role(name, ClaimState.CLAIMED)
                delegations.roles[role] = project_delegation(
                    role, name, maintainers, claim.threshold
                )
                for keys in maintainers.values():
                    delegations.keys.update({k.keyid: k for k in keys})
            drop_unused_keys(delegations)
            claimed.version = current.signed.version + 1
            claimed.expires = self.clock.now() + self.settings.expiry.claimed
            summary: dict[str, Any] = {
                "moved": sorted(moved),
                "keys_changed": sorted(changed),
                "fingerprints": fingerprints,
            }
            event_id = self._record(session, CLAIMED, Metadata(claimed), summary)
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
            raise InvalidRequest(f"key events are for root or targets, not {role!r}")
        if role == ROOT:
            md: Metadata[Any] = self._published().root()
        else:
            md = copy.deepcopy(self._published().role(TARGETS))
        signed = md.signed
        described = [_apply_change(signed, change) for change in changes]
        signed.version += 1
        lifetime = self.settings.expiry.root if role == ROOT else self.settings.expiry.targets
        signed.expires = self.clock.now() + lifetime
        described.append(f"expiry renewed to {signed.expires.isoformat()}")
        md.signatures.clear()
        with self.db.session() as session:
            _refuse_if_open(session)
            event_id = self._record(session, RoleName(role), md, {"changes": described})
        logger.info(
            "prepared signing event %d: %s v%d %s", event_id, role, signed.version, described
        )
        return self.status(event_id)

    def _record(
        self, session: Session, role: RoleName, md: Metadata[Any], summary: dict[str, Any]
    ) -> int:
        event = SigningEvent(role=role, version=md.signed.version, blob_key="", summary=summary)
        session.add(event)
        session.flush()
        event.blob_key = event_key(event.id)
        self.store.put(event.blob_key, md.to_bytes())
        return event.id

    def status(self, event_id: int) -> EventStatus:
        """What an event changes and how many signatures it has."""
        with self.db.read_session() as session:
            event = _require_event(session, event_id)
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
        if role == ROOT:
            old_root = self._published().root().signed
            new_root = md.signed
            assert isinstance(new_root, Root)  # noqa: S101 - root events hold Root
            old = old_root.get_verification_result(ROOT, md.signed_bytes, signatures)
            new = new_root.get_verification_result(ROOT, md.signed_bytes, signatures)
            threshold = max(old.threshold, new.threshold)
            return set(old.signed) | set(new.signed), threshold, old.verified and new.verified
        if role == TARGETS:
            delegator: Root | Targets = self._published().root().signed
        else:
            delegator = self._published().role(TARGETS).signed
        result = delegator.get_verification_result(role, md.signed_bytes, signatures)
        return set(result.signed), result.threshold, result.verified

    def open_events(self) -> list[EventStatus]:
        """Events not yet published."""
        with self.db.read_session() as session:
            ids = queries.unpublished_event_ids(session)
        return [self.status(i) for i in ids]

    def metadata(self, event_id: int) -> bytes:
        """The event's metadata with the signatures so far (to sign elsewhere)."""
        with self.db.read_session() as session:
            _require_event(session, event_id)
        return self.store.get(event_key(event_id))

    def add_signatures(self, event_id: int, signed: bytes) -> EventStatus:
        """Merge signatures made elsewhere over the same metadata (each is checked)."""
        status = self.status(event_id)
        if status.state is not EventState.OPEN:
            raise Conflict(f"signing event {event_id} is {status.state}")
        md = Metadata[Any].from_bytes(self.metadata(event_id))
        try:
            theirs = Metadata[Any].from_bytes(signed)
        except ValueError as e:
            raise InvalidRequest(f"not TUF metadata: {e}") from e
        if theirs.signed_bytes != md.signed_bytes:
            raise InvalidRequest("those signatures are over different metadata than the event's")
        for keyid, signature in theirs.signatures.items():
            valid, _, _ = self._verification(status.role, md, {keyid: signature})
            if not valid:
                raise PermissionDenied(
                    f"signature by key {keyid[:12]} is not valid for {status.role}"
                )
            md.signatures[keyid] = signature
        self.store.put(event_key(event_id), md.to_bytes())
        return self.status(event_id)

    def publish(self, event_id: int) -> EventStatus:
        """Hand a fully signed event to the publisher (it publishes in the next batch)."""
        status = self.status(event_id)
        if status.state is not EventState.OPEN:
            raise Conflict(f"signing event {event_id} is {status.state}")
        if not status.complete:
            raise Conflict(
                f"signed by {status.signatures} of the {status.threshold} keys needed",
                hint="more administrators must sign: `endorse admin event sign-file`",
            )
        with self.db.session() as session:
            event = _require_event(session, event_id)
            event.state = EventState.READY
            names = set(status.summary.get("moved", [])) | set(
                status.summary.get("keys_changed", [])
            )
            for claim, name in queries.claims(session, names):
                claim.state = ClaimState.CLAIMED
                # Keys that changed after the event was prepared wait for the next one.
                signed_for = status.summary.get("fingerprints", {}).get(name)
                current = _fingerprint(
                    queries.claim_keys(session, claim.project_id), claim.threshold
                )
                claim.delegation_dirty = signed_for != current
        logger.info("signing event %d is ready to publish", event_id)
        return self.status(event_id)


def _require_event(session: Session, event_id: int) -> SigningEvent:
    event = queries.signing_event(session, event_id)
    if event is None:
        raise NotFound(f"no signing event {event_id}")
    return event


def _refuse_if_open(session: Session) -> None:
    """One event at a time: each is prepared from the published state."""
    if queries.unpublished_event_ids(session):
        raise Conflict(
            "another signing event is open",
            hint="publish it first (`endorse admin event list`)",
        )


def _fingerprint(maintainers: Mapping[str, list[Key]], threshold: int) -> list[str]:
    """What a project's delegation says: its key ids and threshold (JSON-friendly)."""
    return [*sorted(k.keyid for keys in maintainers.values() for k in keys), f"t={threshold}"]


def _apply_change(signed: Root | Targets, change: KeyChange) -> str:
    allowed = KEY_EVENT_ROLES[ROOT if isinstance(signed, Root) else TARGETS]
    if change.role not in allowed:
        raise InvalidRequest(
            f"this event cannot change the keys of {change.role!r}",
            hint="online keys rotate with `endorse admin recover`",
        )
    if isinstance(signed, Root):
        roles: Mapping[str, Role] = signed.roles
    else:
        delegations = signed.delegations
        roles = delegations.roles if delegations and delegations.roles else {}
    if change.role not in roles:
        raise InvalidRequest(f"{signed.type} has no role {change.role!r}")
    if change.action is KeyChangeAction.ADD and change.key is not None:
        signed.add_key(change.key, change.role)
        return f"{change.role}: add key {change.key.keyid[:12]}"
    if change.action is KeyChangeAction.REMOVE and change.keyid is not None:
        try:
            signed.revoke_key(change.keyid, change.role)
        except ValueError as e:
            raise InvalidRequest(f"{change.role}: {e}") from e
        return f"{change.role}: remove key {change.keyid[:12]}"
    if change.action is KeyChangeAction.THRESHOLD and change.threshold:
        roles[change.role].threshold = change.threshold
        return f"{change.role}: threshold {change.threshold}"
    raise InvalidRequest(f"not a key change: {change}")
