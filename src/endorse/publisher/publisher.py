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
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from packaging.utils import NormalizedName
from tuf.api.metadata import Metadata, TargetFile, Targets
from tuf.repository import AbortEdit

from endorse.clock import Clock, SystemClock
from endorse.metadata.delegations import drop_unused_keys, project_delegation
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
    project_role,
    recently_claimed_project_role,
)
from endorse.metadata.storage_keys import event_key, path_of_target_key, target_key
from endorse.publisher.keyring import Keyring, role_kind
from endorse.publisher.lock import LeaderLock, wait_for_leadership
from endorse.publisher.repository import StoredRepository
from endorse.publisher.targets import (
    ProjectTargets,
    RoleVersionToPublish,
    build_claimed_project_targets,
    build_project_targets,
)
from endorse.settings import Settings
from endorse.simple.render import StatusMarker
from endorse.states import ClaimState
from endorse.storage import BlobStore
from endorse.storage.db import Batch, Database, Session, SigningEvent, queries, utcnow

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


@dataclass(frozen=True)
class ReadyEvent:
    """A fully signed signing event the next batch publishes."""

    id: int
    role: str
    #: Projects a ``claimed`` event moves from ``recently-claimed`` into ``claimed``.
    moved: list[NormalizedName] = field(default_factory=list)


@dataclass
class _Batch:
    """What one batch takes and what it wrote, until it is recorded."""

    started: datetime
    entry_ids: list[int]
    projects: dict[int, ProjectTargets]
    removed_keys: dict[str, str] = field(default_factory=dict)
    written: dict[str, tuple[int, datetime]] = field(default_factory=dict)
    timestamp_version: int | None = None


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
        self.repo: StoredRepository | None = None
        if settings.tuf_enabled:
            if keyring is None:
                raise ValueError("a keyring is needed to publish TUF metadata")
            self.repo = StoredRepository(store, keyring, settings.expiry, self.clock)
        self._last_prune = 0.0

    # -- one batch -----------------------------------------------------------

    def publish_once(self) -> BatchResult | None:
        """Publish every pending entry (up to ``batch_max``) and due refreshes."""
        with self.db.read_session() as session:
            entries = queries.pending_entries(session, self.settings.batch_max)
            events = [_ready_event(e) for e in queries.ready_events(session)] if self.repo else []
        due = self._due_roles() if self.repo else []
        if not entries and not due and not events:
            return None
        batch = _Batch(
            started=utcnow(),
            entry_ids=[entry_id for entry_id, _ in entries],
            projects=self._project_targets(sorted({pid for _, pid in entries})),
        )
        for pt in batch.projects.values():
            for key, data in pt.listing_blobs.items():
                if not self.store.exists(key):
                    self.store.put(key, data)
        if self.repo is not None:
            self._sign(self.repo, batch, events, due)
        result = self._record(batch)
        if events:
            with self.db.session() as session:
                queries.mark_events_published(session, [e.id for e in events], utcnow())
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

    def publish_pending(self) -> int:
        """Publish batches until nothing is pending; return how many files were published."""
        published = 0
        while (result := self.publish_once()) is not None:
            published += result.files
        return published

    def _sign(
        self,
        repo: StoredRepository,
        batch: _Batch,
        events: list[ReadyEvent],
        due: list[str],
    ) -> None:
        """Write the batch's roles, then snapshot, then timestamp."""
        projects = list(batch.projects.values())
        try:
            if repo.loaded_timestamp_version != repo.published_timestamp_version():
                repo.load()
            batch.removed_keys = self._update_bins(repo, projects)
            self._update_recently_claimed(repo, projects)
            for pt in projects:
                for version in pt.role_versions:
                    repo.write_signed(version.role, self.store.get(version.blob_key))
            self._apply_events(repo, events)
            self._refresh(repo, due)
            repo.do_snapshot(force=SNAPSHOT in due)
            repo.do_timestamp(force=TIMESTAMP in due)
        except BaseException:
            # The working set may hold edits that never reached a timestamp.
            repo.invalidate()
            raise
        batch.written = repo.take_written()
        batch.timestamp_version = repo.loaded_timestamp_version

    def _project_targets(self, project_ids: list[int]) -> dict[int, ProjectTargets]:
        if not project_ids:
            return {}
        result: dict[int, ProjectTargets] = {}
        with self.db.read_session() as session:
            names = queries.project_names(session, project_ids)
            markers = {
                pid: StatusMarker(status, reason)
                for pid, (status, reason) in queries.project_statuses(session, project_ids).items()
            }
            files = queries.files_by_project(session, project_ids)
            claims = queries.claims_by_project(session, project_ids)
            versions = queries.role_versions_by_project(session, project_ids)
            for pid in project_ids:
                name, claim = names[pid], claims.get(pid)
                if claim is None or not versions.get(pid):
                    result[pid] = build_project_targets(name, files.get(pid, []), markers[pid])
                    continue
                role = project_role(name, claim.state)
                latest = Metadata[Targets].from_bytes(self.store.get(versions[pid][-1].blob_key))
                pt = build_claimed_project_targets(
                    name, files.get(pid, []), latest.signed, markers[pid]
                )
                pt.role_versions = [
                    RoleVersionToPublish(role, v.version, v.blob_key, v.id)
                    for v in versions[pid]
                    if v.published is None
                ]
                if claim.state is ClaimState.RECENTLY_CLAIMED and claim.delegation_dirty:
                    maintainers = queries.claim_keys(session, pid)
                    pt.delegation = project_delegation(role, name, maintainers, claim.threshold)
                    pt.delegation_keys = [k for keys in maintainers.values() for k in keys]
                result[pid] = pt
        return result

    def _update_recently_claimed(
        self, repo: StoredRepository, projects: list[ProjectTargets]
    ) -> None:
        """(Re)delegate recently-claimed projects whose keys or threshold changed."""
        changed = [pt for pt in projects if pt.delegation is not None]
        if not changed:
            return
        with repo.edit_targets(RECENTLY_CLAIMED) as parent:
            delegations = parent.delegations
            assert delegations is not None and delegations.roles is not None  # noqa: S101
            for pt in changed:
                assert pt.delegation is not None  # noqa: S101 - chosen above
                delegations.roles[pt.delegation.name] = pt.delegation
                delegations.keys.update({k.keyid: k for k in pt.delegation_keys})
            drop_unused_keys(delegations)

    def _apply_events(self, repo: StoredRepository, events: list[ReadyEvent]) -> None:
        """Publish fully signed signing events: the role as the administrators signed
        it, each moved project's newest developer-signed version under its new name,
        and the moved projects' delegations dropped from ``recently-claimed``."""
        moved: list[NormalizedName] = []
        for event in events:
            repo.write_signed(event.role, self.store.get(event_key(event.id)))
            moved += event.moved
        if not moved:
            return
        with self.db.read_session() as session:
            newest = {name: queries.newest_role_version_of(session, name) for name in moved}
        for name, version in newest.items():
            if version is not None:
                repo.write_signed(claimed_project_role(name), self.store.get(version.blob_key))
        retired = {recently_claimed_project_role(n) for n in moved}
        with repo.edit_targets(RECENTLY_CLAIMED) as parent:
            delegations = parent.delegations
            assert delegations is not None and delegations.roles is not None  # noqa: S101
            if not retired & set(delegations.roles):
                raise AbortEdit
            for role in retired:
                delegations.roles.pop(role, None)
            drop_unused_keys(delegations)

    def _update_bins(
        self, repo: StoredRepository, projects: list[ProjectTargets]
    ) -> dict[str, str]:
        """Put each project's targets into its bins; return keys of removed targets."""
        if not projects:
            return {}
        unclaimed = repo.read(UNCLAIMED).signed
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
                    old = bin_targets.targets.get(path)
                    if old != target:
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
            seeded = queries.role_state_seeded(session)
        if not seeded:
            self._seed_role_state()
        with self.db.read_session() as session:
            return queries.due_roles(session, self.clock.now(), MAX_REFRESH_PER_BATCH)

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
            md = repo.read(role)
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
            queries.set_role_state(session, role, version, expires, expires - lifetime / 2)

    def _record(self, batch: _Batch) -> BatchResult:
        """Mark the batch done; runs only after the timestamp is stored."""
        now = utcnow()
        files_published = 0
        removed_keys = dict(batch.removed_keys)
        with self.db.session() as session:
            row = Batch(
                started=batch.started,
                finished=now,
                timestamp_version=batch.timestamp_version,
                snapshot_version=batch.written.get(SNAPSHOT, (None,))[0],
                projects=len(batch.projects),
            )
            session.add(row)
            session.flush()
            queries.mark_entries_done(session, batch.entry_ids, row.id)
            for pid, pt in batch.projects.items():
                for old in queries.replace_published_listing(
                    session, pid, pt.html_key, pt.json_key
                ):
                    removed_keys.setdefault(old, path_of_target_key(old))
                files_published += queries.mark_files_published(
                    session, pid, pt.listed_filenames, now
                )
                queries.mark_role_versions_published(
                    session, [v.row_id for v in pt.role_versions], now
                )
                if pt.delegation is not None:
                    _keep_dirty_unless_published(session, pid, pt)
            for key, path in removed_keys.items():
                queries.record_superseded(session, key, path, now)
            if self.repo is not None:
                written = {r: v for r, v in batch.written.items() if self._is_online(r)}
                self._upsert_role_state(session, written)
            batch_id = row.id
        return BatchResult(
            batch_id,
            len(batch.projects),
            files_published,
            len(batch.written),
            batch.timestamp_version,
        )

    def _is_online(self, role: str) -> bool:
        return self.repo is not None and self.repo.keyring.has(role_kind(role))

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


def _ready_event(row: SigningEvent) -> ReadyEvent:
    moved = row.summary.get("moved", [])
    names = [NormalizedName(str(n)) for n in moved] if isinstance(moved, list) else []
    return ReadyEvent(row.id, row.role, names)


def _keep_dirty_unless_published(session: Session, project_id: int, pt: ProjectTargets) -> None:
    """A claim stays marked for re-delegation unless what was published is what it says:
    its keys may have changed again while this batch ran."""
    claim = queries.claim_of(session, project_id)
    if claim is None or pt.delegation is None:
        return
    current = project_delegation(
        pt.delegation.name, pt.name, queries.claim_keys(session, project_id), claim.threshold
    )
    claim.delegation_dirty = current != pt.delegation
