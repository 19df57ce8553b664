"""Bulk import / back-signing: sign a folder of existing distributions in one pass."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select

from endorse.errors import UploadRejected
from endorse.index.uploads import record_imports, store_distribution
from endorse.packages.distributions import Distribution, inspect_distribution
from endorse.publisher.keyring import Keyring
from endorse.publisher.lock import leader_lock
from endorse.publisher.publisher import Publisher
from endorse.services.index import Services
from endorse.storage.db import QueueEntry

logger = logging.getLogger(__name__)

#: Files recorded per database transaction.
CHUNK = 500

Progress = Callable[[str, int, int], None]


@dataclass
class ImportResult:
    """What an import did."""

    imported: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    batches: int = 0


def _wait_for_queue(services: Services, result: ImportResult, progress: Progress | None) -> None:
    with services.db.read_session() as session:
        total = (
            session.scalar(
                select(func.count()).select_from(QueueEntry).where(QueueEntry.batch_id.is_(None))
            )
            or 0
        )
    while True:
        with services.db.read_session() as session:
            pending = (
                session.scalar(
                    select(func.count())
                    .select_from(QueueEntry)
                    .where(QueueEntry.batch_id.is_(None))
                )
                or 0
            )
        if progress:
            progress("signing (by the running publisher)", total - pending, total)
        if pending == 0:
            return
        time.sleep(0.5)


def find_distributions(folder: Path) -> list[Path]:
    """Wheels and sdists below ``folder``, in a stable order."""
    found = [p for p in folder.rglob("*") if p.is_file() and p.name.endswith((".whl", ".tar.gz"))]
    return sorted(found)


def import_directory(
    services: Services,
    folder: Path,
    *,
    keyring: Keyring | None,
    owner_id: int | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Check, store and record every distribution, then publish them all."""
    paths = find_distributions(folder)
    result = ImportResult()
    chunk: list[Distribution] = []

    def flush() -> None:
        recorded, skipped = record_imports(services.db, chunk, owner_id)
        result.imported += recorded
        result.skipped.extend(skipped)
        chunk.clear()

    for i, path in enumerate(paths, 1):
        try:
            dist = inspect_distribution(path, path.name)
        except UploadRejected as e:
            result.skipped.append((path.name, e.message))
        else:
            store_distribution(services.store, dist, path)
            chunk.append(dist)
            if len(chunk) >= CHUNK:
                flush()
        if progress:
            progress("checking and storing", i, len(paths))
    if chunk:
        flush()
    lock = leader_lock(services.db, services.settings.data_dir)
    if not lock.try_acquire():
        # A running publisher (endorse serve / endorse publisher) signs them.
        logger.info("a publisher is running: it publishes the imported files")
        _wait_for_queue(services, result, progress)
        return result
    try:
        publisher = Publisher(services.settings, services.db, services.store, keyring)
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
