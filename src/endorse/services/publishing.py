"""The publisher's services: what the commands that run or drive the publisher call.

``endorse serve`` starts the publisher process, ``endorse publisher`` runs it,
and ``endorse admin`` imports, prunes and recovers through here. The web face
never imports this module: it holds the online keys.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from endorse.errors import ConfigError, Conflict, UploadRejected
from endorse.packages.distributions import Distribution, inspect_distribution
from endorse.packages.historic import inspect_historic
from endorse.publisher.bootstrap import ONLINE_KEYRING
from endorse.publisher.keyring import Keyring
from endorse.publisher.lock import leader_lock
from endorse.publisher.process import PublisherProcess, run_until_stopped
from endorse.publisher.prune import PruneResult, prune
from endorse.publisher.publisher import BatchResult, Publisher
from endorse.publisher.recovery import RecoveryReport, recover
from endorse.services.index import Services
from endorse.storage.db import queries

logger = logging.getLogger(__name__)

__all__ = [
    "ImportResult",
    "exclusive_publisher",
    "import_directory",
    "online_keyring",
    "open_publisher",
    "prune_now",
    "publish_pending",
    "publisher_process",
    "recover_online_keys",
    "run_publisher",
]

#: Files recorded per database transaction during an import.
IMPORT_CHUNK = 500

Progress = Callable[[str, int, int], None]


def online_keyring(services: Services) -> Keyring:
    """The online keys the publisher signs with."""
    path = services.settings.keys_dir / ONLINE_KEYRING
    if not path.exists():
        raise ConfigError(
            f"no online keyring at {str(path)!r}",
            hint="start `endorse serve` once on a fresh data folder, or run `endorse admin init`",
        )
    return Keyring.load(path)


def open_publisher(
    services: Services, *, on_batch: Callable[[BatchResult], None] | None = None
) -> Publisher:
    """A publisher over the index's state (with the online keys, when it signs)."""
    keyring = online_keyring(services) if services.settings.tuf_enabled else None
    return Publisher(
        services.settings,
        services.db,
        services.store,
        keyring,
        clock=services.clock,
        on_batch=on_batch,
    )


@contextmanager
def exclusive_publisher(services: Services, refusal: str, hint: str) -> Iterator[None]:
    """Hold the publisher's leader lock; ``refusal`` (Conflict) while a publisher runs."""
    lock = leader_lock(services.db, services.settings.data_dir)
    if not lock.try_acquire():
        raise Conflict(refusal, hint=hint)
    try:
        yield
    finally:
        lock.release()


def publisher_process(services: Services, *, verbose: int = 0) -> PublisherProcess:
    """The child process ``endorse serve`` runs its publisher in (not started yet)."""
    return PublisherProcess(services.settings, verbose=verbose)


def run_publisher(services: Services, *, supervised: bool) -> None:
    """Be the publisher until stopped (``endorse publisher``), pruning when idle."""
    run_until_stopped(
        open_publisher(services),
        leader_lock(services.db, services.settings.data_dir),
        supervised=supervised,
        prune=lambda: prune_now(services),
    )


def publish_pending(services: Services) -> int:
    """Publish what is pending now, as the only publisher; return the files published."""
    with exclusive_publisher(
        services, "another publisher is running", hint="it publishes what is pending"
    ):
        return open_publisher(services).publish_pending()


def prune_now(services: Services, grace: timedelta | None = None) -> PruneResult:
    """Delete superseded metadata and listings older than ``grace`` (the setting's default)."""
    if grace is None:
        grace = timedelta(seconds=services.settings.prune_grace)
    return prune(services.store, services.db, grace)


def recover_online_keys(
    services: Services, offline: Keyring, *, known_good_snapshot: int, requeue: bool
) -> RecoveryReport:
    """PEP 480's recovery after a theft of the online keys (the publisher stopped)."""
    with exclusive_publisher(
        services, "a publisher is running", hint="stop `endorse serve` / `endorse publisher` first"
    ):
        return recover(
            services.settings,
            services.db,
            services.store,
            offline,
            known_good_snapshot=known_good_snapshot,
            requeue=requeue,
            clock=services.clock,
        )


@dataclass
class ImportResult:
    """What an import did, file by file."""

    #: Files found under the folder.
    examined: int = 0
    imported: int = 0
    #: Files the index had accepted before (re-running an import is harmless).
    already: int = 0
    #: ``(path under the folder, reason)`` of every file left out.
    skipped: list[tuple[str, str]] = field(default_factory=list)
    #: Projects the import created.
    created: list[str] = field(default_factory=list)
    batches: int = 0
    #: Signed by a publisher that was already running, rather than by the import.
    by_running_publisher: bool = False


def find_files(folder: Path) -> list[Path]:
    """Every file below ``folder``, in a stable order (each is imported or reported)."""
    return sorted(p for p in folder.rglob("*") if p.is_file())


def inspect_any(path: Path) -> Distribution:
    """Check a wheel or sdist as an upload would, or a historic format PyPI once took."""
    if path.name.endswith((".whl", ".tar.gz")):
        return inspect_distribution(path, path.name)
    return inspect_historic(path, path.name)


def import_directory(
    services: Services,
    folder: Path,
    *,
    owner_id: int | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Back-sign a folder: check, store and record every distribution, then publish.

    Every file is imported, already on the index, or skipped with its reason.
    A running publisher (``endorse serve``, ``endorse publisher``) publishes
    them itself, and the import waits for its queue to drain.
    """
    paths = find_files(folder)
    result = ImportResult(examined=len(paths))
    chunk: list[tuple[Distribution, Path]] = []

    def flush() -> None:
        known = services.uploads.registered([dist.filename for dist, _ in chunk])
        fresh = [(dist, path) for dist, path in chunk if dist.filename not in known]
        result.already += len(chunk) - len(fresh)
        for dist, path in fresh:
            services.uploads.store_distribution(dist, path)
        recorded = services.uploads.record_imports([dist for dist, _ in fresh], owner_id)
        result.imported += recorded.recorded
        result.created.extend(recorded.created)
        where = {dist.filename: path for dist, path in fresh}
        result.skipped.extend(
            (str(where[dist.filename].relative_to(folder)), reason)
            for dist, reason in recorded.refused
        )
        chunk.clear()

    for i, path in enumerate(paths, 1):
        try:
            chunk.append((inspect_any(path), path))
        except UploadRejected as e:
            result.skipped.append((str(path.relative_to(folder)), e.message))
        if len(chunk) >= IMPORT_CHUNK:
            flush()
        if progress:
            progress("checking and storing", i, len(paths))
    if chunk:
        flush()
    lock = leader_lock(services.db, services.settings.data_dir)
    if not lock.try_acquire():
        logger.info("a publisher is running: it publishes the imported files")
        result.by_running_publisher = True
        _wait_for_queue(services, progress)
        return result
    try:
        publisher = open_publisher(services)
        published = 0
        while (batch := publisher.publish_once()) is not None:
            result.batches += 1
            published += batch.files
            if progress:
                progress("signing", published, result.imported)
    finally:
        lock.release()
    logger.info("imported %d files in %d batches", result.imported, result.batches)
    return result


def _wait_for_queue(services: Services, progress: Progress | None) -> None:
    with services.db.read_session() as session:
        total = queries.pending_entry_count(session)
    while True:
        with services.db.read_session() as session:
            pending = queries.pending_entry_count(session)
        if progress:
            progress("signing (by the running publisher)", total - pending, total)
        if pending == 0:
            return
        time.sleep(0.5)
