"""Proposed fixes for the signing-event path, applied by monkeypatching (experiment only).

``bench_pep480.py --patch benchmarks/_pep480_proposed_fix.py`` imports this file
before it measures, so the effect of the changes can be measured without
editing ``src/``. Nothing here changes what is published (same ``claimed``,
same roles, same database rows); only how many queries, copies and fsyncs it
takes. Each function mirrors the one it replaces as of the commit measured.

1. ``SigningEvents.prepare_claimed`` (events.py): one query for the projects
   that have a role version and one joined query for every candidate's
   maintainers and keys, instead of 1 + 1 + (1 per maintainer) queries per
   claimed project.
2. ``SigningEvents.publish`` (events.py): claims and keys loaded in bulk, no
   autoflush inside the loop, queue entries inserted in one statement, names
   chunked below the database's bind-parameter limit.
3. ``Publisher._apply_events`` (publisher.py): the newest role version of every
   moved project in one query, and the ``V.p-NAME.json`` files written by a
   thread pool (each ``LocalBlobStore.put`` waits for two fsyncs).
4. ``StoredRepository.open`` / ``do_snapshot`` (tufrepo.py): the snapshot is
   copied shallowly (its ``MetaFile`` values are replaced, never mutated),
   instead of deep-copied twice per batch. This is the same change another
   engineer measured for uploads (``bench_upload_proposed_fix``).
"""

from __future__ import annotations

import copy
import logging
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from endorse.repository import events as ev
from endorse.repository import publisher as pub
from endorse.repository import tufrepo
from packaging.utils import NormalizedName
from securesystemslib.signer import Key
from sqlalchemy import insert, select
from tuf.api.metadata import Delegations, Metadata, Targets
from tuf.repository import AbortEdit

from endorse.index.claims import CLAIMED_STATE, RECENTLY_CLAIMED_STATE, project_role_name
from endorse.metadata.delegations import project_delegation
from endorse.metadata.roles import (
    CLAIMED,
    RECENTLY_CLAIMED,
    SNAPSHOT,
    claimed_project_role,
    recently_claimed_project_role,
)
from endorse.metadata.storage_keys import metadata_key
from endorse.storage.db import (
    ClaimMaintainer,
    DeveloperKey,
    Project,
    ProjectClaim,
    ProjectRoleVersion,
    QueueEntry,
    SigningEvent,
    User,
)
from endorse.storage.published import PublishedMetadata

logger = logging.getLogger("endorse.index.events")

#: Names / ids per IN (...) list: far below SQLite's and PostgreSQL's bind limits.
CHUNK = 5000


def _chunks(items: list[Any]) -> list[list[Any]]:
    return [items[i : i + CHUNK] for i in range(0, len(items), CHUNK)]


def claim_keys_bulk(session: Any, project_ids: list[int]) -> dict[int, dict[str, list[Key]]]:
    """``project -> maintainer -> active keys`` for many projects, in one query per chunk
    (same content and order as ``claims.claim_keys`` for each)."""
    result: dict[int, dict[str, list[Key]]] = defaultdict(dict)
    for chunk in _chunks(sorted(set(project_ids))):
        rows = session.execute(
            select(ClaimMaintainer.project_id, User.username, DeveloperKey.keyid, DeveloperKey.key)
            .join(User, User.id == ClaimMaintainer.user_id)
            .outerjoin(
                DeveloperKey,
                (DeveloperKey.user_id == User.id) & DeveloperKey.revoked.is_(None),
            )
            .where(ClaimMaintainer.project_id.in_(chunk))
            .order_by(ClaimMaintainer.project_id, User.username, DeveloperKey.id)
        ).all()
        for project_id, username, keyid, key in rows:
            keys = result[project_id].setdefault(username, [])
            if keyid is not None:
                keys.append(Key.from_dict(keyid, dict(key)))
    return result


def prepare_claimed(self: ev.SigningEvents) -> ev.EventStatus:
    published = PublishedMetadata(self.store, timestamp_ttl=0)
    current = published.role(CLAIMED)
    claimed = copy.deepcopy(current.signed)
    if claimed.delegations is None or claimed.delegations.roles is None:
        claimed.delegations = Delegations(keys={}, roles={})
    delegations = claimed.delegations
    moved: list[str] = []
    changed: list[str] = []
    fingerprints: dict[str, list[str]] = {}
    with self.db.session() as session:
        if session.scalar(
            select(SigningEvent.id).where(SigningEvent.state.in_([ev.OPEN, ev.READY]))
        ):
            raise ev.EventError(
                "another signing event is open",
                hint="publish it first (`endorse admin event list`)",
            )
        with_version = set(session.scalars(select(ProjectRoleVersion.project_id).distinct()))
        rows = session.execute(
            select(ProjectClaim, Project.name).join(Project, Project.id == ProjectClaim.project_id)
        ).all()
        candidates = []
        for claim, raw_name in rows:
            name = NormalizedName(raw_name)
            if claim.state == RECENTLY_CLAIMED_STATE and claim.project_id in with_version:
                moved.append(name)
            elif not (claim.state == CLAIMED_STATE and claim.delegation_dirty):
                continue
            else:
                changed.append(name)
            candidates.append((claim, name))
        keys_of = claim_keys_bulk(session, [c.project_id for c, _ in candidates])
        for claim, name in candidates:
            maintainers = keys_of.get(claim.project_id, {})
            fingerprints[name] = ev._fingerprint(maintainers, claim.threshold)
            role = project_role_name(name, CLAIMED_STATE)
            delegations.roles[role] = project_delegation(role, name, maintainers, claim.threshold)
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
        event = SigningEvent(role=CLAIMED, version=claimed.version, blob_key="", summary=summary)
        session.add(event)
        session.flush()
        event.blob_key = ev.event_blob_key(event.id)
        self.store.put(event.blob_key, Metadata(claimed).to_bytes())
        event_id = event.id
    logger.info("prepared signing event %d: claimed v%d", event_id, claimed.version)
    return self.status(event_id)


def publish(self: ev.SigningEvents, event_id: int) -> ev.EventStatus:
    status = self.status(event_id)
    if status.state != ev.OPEN:
        raise ev.EventError(f"signing event {event_id} is {status.state}")
    if not status.complete:
        raise ev.EventError(f"signed by {status.signatures} of the {status.threshold} keys needed")
    with self.db.session() as session, session.no_autoflush:
        event = session.get(SigningEvent, event_id)
        event.state = ev.READY
        names = sorted(
            set(status.summary.get("moved", [])) | set(status.summary.get("keys_changed", []))
        )
        ids: dict[int, str] = {}
        for chunk in _chunks(names):
            ids.update(
                session.execute(select(Project.id, Project.name).where(Project.name.in_(chunk)))
                .tuples()
                .all()
            )
        claims: dict[int, ProjectClaim] = {}
        for chunk in _chunks(sorted(ids)):
            claims.update(
                (c.project_id, c)
                for c in session.scalars(
                    select(ProjectClaim).where(ProjectClaim.project_id.in_(chunk))
                )
            )
        keys_of = claim_keys_bulk(session, list(claims))
        signed = status.summary.get("fingerprints", {})
        for pid, claim in claims.items():
            claim.state = CLAIMED_STATE
            current = ev._fingerprint(keys_of.get(pid, {}), claim.threshold)
            claim.delegation_dirty = signed.get(ids[pid]) != current
        for chunk in _chunks(sorted(claims)):
            session.execute(insert(QueueEntry), [{"project_id": pid} for pid in chunk])
    logger.info("signing event %d is ready to publish", event_id)
    return self.status(event_id)


def _apply_events(self: pub.Publisher, repo: tufrepo.StoredRepository) -> list[int]:
    events = ev.ready_events(self.db)
    if not events:
        return []
    moved: list[str] = []
    for event_id, role, event_moved in events:
        repo.write_signed(role, self.store.get(ev.event_blob_key(event_id)))
        moved += event_moved
    if moved:
        newest: dict[str, tuple[int, str]] = {}
        with self.db.read_session() as session:
            for chunk in _chunks(sorted(set(moved))):
                for name, version, key in session.execute(
                    select(Project.name, ProjectRoleVersion.version, ProjectRoleVersion.blob_key)
                    .join(Project, Project.id == ProjectRoleVersion.project_id)
                    .where(Project.name.in_(chunk))
                ):
                    if name not in newest or version > newest[name][0]:
                        newest[name] = (version, key)

        def copy_one(item: tuple[str, tuple[int, str]]) -> tuple[str, bytes]:
            name, (version, key) = item
            role = claimed_project_role(NormalizedName(name))
            data = self.store.get(key)
            self.store.put(metadata_key(role, version), data)
            return role, data

        with ThreadPoolExecutor(max_workers=8) as pool:
            written = list(pool.map(copy_one, sorted(newest.items())))
        for role, data in written:  # write_signed's bookkeeping, without a second put
            md = Metadata.from_bytes(data)
            version = md.signed.version
            known = repo._targets_infos.get(f"{role}.json")
            if isinstance(md.signed, Targets) and (known is None or known.version <= version):
                repo._targets_infos[f"{role}.json"] = tufrepo.meta_file(role, version, data)
            repo._md[role] = md
            repo._written[role] = (version, md.signed.expires)
        retired = {recently_claimed_project_role(NormalizedName(n)) for n in moved}
        with repo.edit_targets(RECENTLY_CLAIMED) as parent:
            delegations = parent.delegations
            if not retired & set(delegations.roles):
                raise AbortEdit
            for role in retired:
                delegations.roles.pop(role, None)
            used = {k for r in delegations.roles.values() for k in r.keyids}
            delegations.keys = {k: v for k, v in delegations.keys.items() if k in used}
    return [event_id for event_id, _, _ in events]


_orig_open = tufrepo.StoredRepository.open


def open_(self: tufrepo.StoredRepository, role: str) -> Metadata[Any]:
    md = self._md.get(role)
    if role != SNAPSHOT or md is None:
        return _orig_open(self, role)
    signed = copy.copy(md.signed)
    signed.meta = dict(md.signed.meta)
    signed.unrecognized_fields = dict(md.signed.unrecognized_fields)
    return Metadata(signed, dict(md.signatures), dict(md.unrecognized_fields))


def do_snapshot(self: tufrepo.StoredRepository, force: bool = False) -> tuple[bool, dict[str, Any]]:
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


ev.SigningEvents.prepare_claimed = prepare_claimed  # type: ignore[method-assign]
ev.SigningEvents.publish = publish  # type: ignore[method-assign]
pub.Publisher._apply_events = _apply_events  # type: ignore[method-assign]
tufrepo.StoredRepository.open = open_  # type: ignore[method-assign]
tufrepo.StoredRepository.do_snapshot = do_snapshot  # type: ignore[method-assign]
