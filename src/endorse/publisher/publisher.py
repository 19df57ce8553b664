"""The snapshot process (PEP 458/480): one serialized publisher, in batches.

Uploads only record a file and a queue entry. The publisher, holding the
leader lock, takes every pending entry, rebuilds those projects' targets and
listings, writes the changed bins, then snapshot, then timestamp, and only
then marks the entries done. Online roles approaching expiry are re-signed in
the same way, with or without uploads. A crash anywhere leaves the previous
timestamp published and the entries pending, so the next run redoes the batch.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from packaging.utils import NormalizedName
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from tuf.api.metadata import Metadata, TargetFile, Targets
from tuf.repository import AbortEdit

from endorse.clock import Clock, SystemClock
from endorse.index.claims import RECENTLY_CLAIMED_STATE, claim_keys, project_role_name
from endorse.index.events import mark_published, ready_events
from endorse.metadata.delegations import project_delegation
from endorse.metadata.layout import bin_for
from endorse.metadata.roles import (
    CLAIMED,
    RECENTLY_CLAIMED,
    ROOT,
    SNAPSHOT,
    TARGETS,
    TIMESTAMP,
    UNCLAIMED,
    claimed_project_role,
    recently_claimed_project_role,
)
from endorse.metadata.storage_keys import event_key, path_of_target_key, target_key
from endorse.publisher.keyring import Keyring, role_kind
from endorse.publisher.lock import LeaderLock, wait_for_leadership
from endorse.publisher.repository import StoredRepository
from endorse.publisher.targets import (
    ProjectTargets,
    build_claimed_project_targets,
    build_project_targets,
)
from endorse.settings import Settings
from endorse.storage.blobs import BlobStore
from endorse.storage.db import (
    Batch,
    Database,
    File,
    Project,
    ProjectClaim,
    ProjectRoleVersion,
    PublishedListing,
    QueueEntry,
    RoleState,
    SupersededTarget,
    utcnow,
)

logger = logging.getLogger(__name__)

#: Most bins re-signed for expiry in one batch, so one batch stays short.
MAX_REFRESH_PER_BATCH = 2048
#: Offline roles within this much of expiry are reported when the publisher starts.
OFFLINE_EXPIRY_WARNING = timedelta(days=30)


@dataclass(frozen=True)
class BatchResult:
    """What one batch published."""

    batch_id: int
    projects: int
    files: int
    roles_written: int
    timestamp_version: int | None


class Publisher:
    """Publishes pending uploads and keeps online roles fresh."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        store: BlobStore,
        keyring: Keyring | None,
        *,
        clock: Clock | None = None,
        on_batch: Callable[[BatchResult], None] | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.store = store
        self.clock = clock or SystemClock()
        self.on_batch = on_batch
        self.tuf_enabled = settings.tuf_enabled
        self.repo: StoredRepository | None = None
        if self.tuf_enabled:
            if keyring is None:
                raise ValueError("a keyring is needed to publish TUF metadata")
            self.repo = StoredRepository(store, keyring, settings.expiry, self.clock)
        self._last_prune = 0.0

    # -- one batch -----------------------------------------------------------

    def publish_once(self) -> BatchResult | None:
        """Publish every pending entry (up to ``batch_max``) and due refreshes."""
        with self.db.read_session() as session:
            entries = session.execute(
                select(QueueEntry.id, QueueEntry.project_id)
                .where(QueueEntry.batch_id.is_(None))
                .order_by(QueueEntry.id)
                .limit(self.settings.batch_max)
            ).all()
        entry_ids = [e.id for e in entries]
        project_ids = sorted({e.project_id for e in entries})
        due = self._due_roles() if self.repo else []
        if not entry_ids and not due and not (self.repo and ready_events(self.db)):
            return None
        started = utcnow()
        projects = self._project_targets(project_ids)
        for pt in projects.values():
            for key, data in pt.listing_blobs.items():
                if not self.store.exists(key):
                    self.store.put(key, data)
        removed_keys: dict[str, str] = {}
        timestamp_version: int | None = None
        written: dict[str, tuple[int, datetime]] = {}
        event_ids: list[int] = []
        if self.repo is not None:
            repo = self.repo
            try:
                if repo.loaded_timestamp_version != repo.published_timestamp_version():
                    repo.load()
                removed_keys = self._update_bins(repo, list(projects.values()))
                self._update_recently_claimed(repo, list(projects.values()))
                self._publish_role_versions(repo, list(projects.values()))
                event_ids = self._apply_events(repo)
                self._refresh(repo, due)
                repo.do_snapshot(force=SNAPSHOT in due)
                repo.do_timestamp(force=TIMESTAMP in due)
            except BaseException:
                # The working set may hold edits that never reached a timestamp.
                repo.invalidate()
                raise
            written = repo.take_written()
            timestamp_version = repo.loaded_timestamp_version
        result = self._record(
            started, entry_ids, projects, removed_keys, written, timestamp_version
        )
        if event_ids:
            mark_published(self.db, event_ids)
        logger.info(
            "published batch %d: %d projects, %d files, %d roles, timestamp v%s",
            result.batch_id,
            result.projects,
            result.files,
            result.roles_written,
            result.timestamp_version,
        )
        if self.on_batch is not None:
            self.on_batch(result)
        return result

    def _project_targets(self, project_ids: list[int]) -> dict[int, ProjectTargets]:
        if not project_ids:
            return {}
        result: dict[int, ProjectTargets] = {}
        with self.db.read_session() as session:
            rows = session.execute(
                select(Project.id, Project.name).where(Project.id.in_(project_ids))
            ).all()
            names = {pid: NormalizedName(name) for pid, name in rows}
            by_project: dict[int, list[File]] = defaultdict(list)
            for f in session.scalars(select(File).where(File.project_id.in_(project_ids))):
                by_project[f.project_id].append(f)
            claims = {
                c.project_id: c
                for c in session.scalars(
                    select(ProjectClaim).where(ProjectClaim.project_id.in_(project_ids))
                )
            }
            versions: dict[int, list[ProjectRoleVersion]] = defaultdict(list)
            for v in session.scalars(
                select(ProjectRoleVersion)
                .where(ProjectRoleVersion.project_id.in_(project_ids))
                .order_by(ProjectRoleVersion.version)
            ):
                versions[v.project_id].append(v)
            for pid in project_ids:
                name, files, claim = names[pid], by_project.get(pid, []), claims.get(pid)
                if claim is None or not versions[pid]:
                    result[pid] = build_project_targets(name, files)
                    continue
                role = project_role_name(name, claim.state)
                latest = Metadata[Targets].from_bytes(self.store.get(versions[pid][-1].blob_key))
                pt = build_claimed_project_targets(name, files, latest.signed)
                pt.role_versions = [
                    (role, v.version, v.blob_key, v.id)
                    for v in versions[pid]
                    if v.published is None
                ]
                if claim.state == RECENTLY_CLAIMED_STATE and claim.delegation_dirty:
                    maintainers = claim_keys(session, pid)
                    pt.delegation = project_delegation(role, name, maintainers, claim.threshold)
                    pt.delegation_keys = [k for keys in maintainers.values() for k in keys]
                result[pid] = pt
        return result

    def _update_recently_claimed(
        self, repo: StoredRepository, projects: list[ProjectTargets]
    ) -> None:
        """(Re)delegate recently-claimed projects whose keys or threshold changed."""
        changed = [pt.delegation for pt in projects if pt.delegation is not None]
        if not changed:
            return
        with repo.edit_targets(RECENTLY_CLAIMED) as parent:
            delegations = parent.delegations
            assert delegations is not None and delegations.roles is not None  # noqa: S101
            keys = dict(delegations.keys)
            for pt in projects:
                if pt.delegation is None:
                    continue
                delegations.roles[pt.delegation.name] = pt.delegation
                keys.update({k.keyid: k for k in pt.delegation_keys})
            used = {k for role in delegations.roles.values() for k in role.keyids}
            delegations.keys = {k: v for k, v in keys.items() if k in used}

    def _apply_events(self, repo: StoredRepository) -> list[int]:
        """Publish fully signed signing events: ``claimed`` as the administrators
        signed it, each moved project's role under its new name, and the moved
        projects' delegations dropped from ``recently-claimed``."""
        events = ready_events(self.db)
        if not events:
            return []
        moved: list[str] = []
        for event_id, role, event_moved in events:
            repo.write_signed(role, self.store.get(event_key(event_id)))
            moved += event_moved
        if moved:
            with self.db.read_session() as session:
                for name in moved:
                    key = session.scalar(
                        select(ProjectRoleVersion.blob_key)
                        .join(Project, Project.id == ProjectRoleVersion.project_id)
                        .where(Project.name == name)
                        .order_by(ProjectRoleVersion.version.desc())
                        .limit(1)
                    )
                    if key is not None:
                        repo.write_signed(
                            claimed_project_role(NormalizedName(name)), self.store.get(key)
                        )
            retired = {recently_claimed_project_role(NormalizedName(n)) for n in moved}
            with repo.edit_targets(RECENTLY_CLAIMED) as parent:
                delegations = parent.delegations
                assert delegations is not None and delegations.roles is not None  # noqa: S101
                if not retired & set(delegations.roles):
                    raise AbortEdit
                for role in retired:
                    delegations.roles.pop(role, None)
                used = {k for r in delegations.roles.values() for k in r.keyids}
                delegations.keys = {k: v for k, v in delegations.keys.items() if k in used}
        return [event_id for event_id, _, _ in events]

    def _publish_role_versions(
        self, repo: StoredRepository, projects: list[ProjectTargets]
    ) -> None:
        """Publish developer-signed role versions exactly as the developers signed them."""
        for pt in projects:
            for role, _version, key, _row in pt.role_versions:
                repo.write_signed(role, self.store.get(key))

    def _update_bins(
        self, repo: StoredRepository, projects: list[ProjectTargets]
    ) -> dict[str, str]:
        """Put each project's targets into its bins; return keys of removed targets."""
        if not projects:
            return {}
        unclaimed = repo.open(UNCLAIMED).signed
        assert isinstance(unclaimed, Targets)  # noqa: S101 - written by us as Targets
        adds: dict[str, dict[str, TargetFile]] = defaultdict(dict)
        removes: dict[str, set[str]] = defaultdict(set)
        for pt in projects:
            for path, target in pt.targets.items():
                adds[bin_for(unclaimed, path)][path] = target
            for path in pt.removed_paths:
                removes[bin_for(unclaimed, path)].add(path)
        removed_keys: dict[str, str] = {}
        for role in sorted(set(adds) | set(removes)):
            with repo.edit_targets(role) as bin_targets:
                changed = False
                for path, target in adds[role].items():
                    if bin_targets.targets.get(path) != target:
                        old = bin_targets.targets.get(path)
                        if old is not None:
                            removed_keys[target_key(path, old.hashes["sha256"])] = path
                        bin_targets.targets[path] = target
                        changed = True
                for path in removes[role]:
                    old = bin_targets.targets.pop(path, None)
                    if old is not None:
                        removed_keys[target_key(path, old.hashes["sha256"])] = path
                        changed = True
                if not changed:
                    raise AbortEdit
        # Listings are replaced, distribution files are only ever removed: both
        # leave stored bytes that old snapshots may still reference for a while.
        return removed_keys

    def _refresh(self, repo: StoredRepository, due: list[str]) -> None:
        """Re-sign due roles that this batch has not already re-signed."""
        for role in due:
            if role in (SNAPSHOT, TIMESTAMP) or repo.was_written(role):
                continue
            with repo.edit(role):
                pass
            logger.debug("re-signed %s before expiry", role)

    def _due_roles(self) -> list[str]:
        with self.db.read_session() as session:
            seeded = session.scalar(select(RoleState.name).limit(1)) is not None
        if not seeded:
            self._seed_role_state()
        with self.db.read_session() as session:
            return list(
                session.scalars(
                    select(RoleState.name)
                    .where(RoleState.refresh_after <= self.clock.now())
                    .order_by(RoleState.refresh_after)
                    .limit(MAX_REFRESH_PER_BATCH)
                )
            )

    def _seed_role_state(self) -> None:
        """Record version and expiry of every online role (once, after init)."""
        assert self.repo is not None  # noqa: S101
        repo = self.repo
        if repo.loaded_timestamp_version != repo.published_timestamp_version():
            repo.load()
        online = [name[: -len(".json")] for name in repo.targets_infos]
        rows: dict[str, tuple[int, datetime]] = {}
        for role in [TIMESTAMP, SNAPSHOT, *online]:
            if role in (TARGETS, CLAIMED, ROOT) or not repo.keyring.has(role_kind(role)):
                continue
            md = repo.open(role)
            rows[role] = (md.signed.version, md.signed.expires)
        with self.db.session() as session:
            self._upsert_role_state(session, rows)

    def _warn_offline_expiry(self, repo: StoredRepository) -> None:
        for role in (ROOT, TARGETS, CLAIMED):
            expires = repo.expires(role)
            if expires - self.clock.now() < OFFLINE_EXPIRY_WARNING:
                logger.warning(
                    "offline role %s expires %s: hold a signing event to re-sign it",
                    role,
                    expires.isoformat(),
                )

    def _upsert_role_state(self, session: Session, rows: dict[str, tuple[int, datetime]]) -> None:
        for role, (version, expires) in rows.items():
            lifetime = self.settings.expiry.for_role_kind(role_kind(role))
            refresh_after = expires - lifetime / 2
            state = session.get(RoleState, role)
            if state is None:
                session.add(
                    RoleState(
                        name=role, version=version, expires=expires, refresh_after=refresh_after
                    )
                )
            else:
                state.version = version
                state.expires = expires
                state.refresh_after = refresh_after

    def _record(
        self,
        started: datetime,
        entry_ids: list[int],
        projects: dict[int, ProjectTargets],
        removed_keys: dict[str, str],
        written: dict[str, tuple[int, datetime]],
        timestamp_version: int | None,
    ) -> BatchResult:
        """Mark the batch done; runs only after the timestamp is stored."""
        now = utcnow()
        files_published = 0
        with self.db.session() as session:
            batch = Batch(
                started=started,
                finished=now,
                timestamp_version=timestamp_version,
                snapshot_version=written.get(SNAPSHOT, (None,))[0],
                projects=len(projects),
            )
            session.add(batch)
            session.flush()
            if entry_ids:
                session.execute(
                    update(QueueEntry).where(QueueEntry.id.in_(entry_ids)).values(batch_id=batch.id)
                )
            for pid, pt in projects.items():
                listed = session.get(PublishedListing, pid)
                if listed is None:
                    session.add(
                        PublishedListing(project_id=pid, html_key=pt.html_key, json_key=pt.json_key)
                    )
                else:
                    for old in (listed.html_key, listed.json_key):
                        if old not in (pt.html_key, pt.json_key):
                            removed_keys.setdefault(old, path_of_target_key(old))
                    listed.html_key, listed.json_key = pt.html_key, pt.json_key
                result = session.execute(
                    update(File)
                    .where(
                        File.project_id == pid,
                        File.published.is_(None),
                        File.removed.is_(False),
                        File.filename.in_(sorted(pt.listed_filenames)),
                    )
                    .values(published=now)
                )
                files_published += result.rowcount  # type: ignore[attr-defined]
                for _role, _version, _key, row_id in pt.role_versions:
                    role_row = session.get(ProjectRoleVersion, row_id)
                    if role_row is not None:
                        role_row.published = now
                if pt.delegation is not None:
                    claim = session.get(ProjectClaim, pid)
                    if claim is not None:
                        # Keys may have changed again while this batch ran: stay
                        # dirty unless what was published is what the claim says.
                        current = project_delegation(
                            pt.delegation.name,
                            pt.name,
                            claim_keys(session, pid),
                            claim.threshold,
                        )
                        claim.delegation_dirty = current != pt.delegation
            for key, path in removed_keys.items():
                if session.get(SupersededTarget, key) is None:
                    session.add(SupersededTarget(key=key, target_path=path, since=now))
            self._upsert_role_state(
                session,
                {
                    r: v
                    for r, v in written.items()
                    if self.repo and self.repo.keyring.has(role_kind(r))
                },
            )
            batch_id = batch.id
        return BatchResult(
            batch_id, len(projects), files_published, len(written), timestamp_version
        )

    # -- the loop ------------------------------------------------------------

    def run(
        self,
        lock: LeaderLock,
        stop: threading.Event,
        wake: threading.Event | None = None,
        *,
        prune: Callable[[], object] | None = None,
        prune_every: float = 300.0,
    ) -> None:
        """Publish until ``stop`` is set, as the only publisher (waits for the lock)."""
        if not wait_for_leadership(lock, stop):
            return
        logger.info("publisher is leader")
        if self.repo is not None:
            try:
                self.repo.load()
                self._warn_offline_expiry(self.repo)
            except Exception:
                logger.exception("cannot read the published metadata")
        failures = 0
        try:
            while not stop.is_set():
                try:
                    result = self.publish_once()
                    failures = 0
                except Exception:
                    failures += 1
                    logger.exception("publishing failed (attempt %d); will retry", failures)
                    stop.wait(min(30.0, 0.5 * 2**failures))
                    continue
                if result is not None:
                    continue
                if prune is not None and time.monotonic() - self._last_prune > prune_every:
                    self._last_prune = time.monotonic()
                    try:
                        prune()
                    except Exception:
                        logger.exception("pruning failed; will retry later")
                if wake is not None:
                    wake.wait(self.settings.publish_interval)
                    wake.clear()
                else:
                    stop.wait(self.settings.publish_interval)
        finally:
            lock.release()
            logger.info("publisher stopped")
