"""The publisher's leader lock: one publisher at a time, released if it dies.

SQLite deployments (one machine) use an OS file lock next to the database;
PostgreSQL deployments use a session-level advisory lock, which the server
drops when the holder's connection ends, SIGKILL included.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Protocol

from filelock import FileLock, Timeout

from endorse.storage.db import Database, HeldLock

logger = logging.getLogger(__name__)

#: Arbitrary but fixed advisory-lock key ("endorse" in ASCII, truncated).
ADVISORY_KEY = 0x656E646F727365


class LeaderLock(Protocol):
    """A lock held by at most one publisher across every process."""

    def try_acquire(self) -> bool:
        """Take the lock if it is free; never blocks."""
        ...

    def release(self) -> None:
        """Give the lock up."""
        ...


class FileLeaderLock:
    """An OS-level file lock (fcntl/flock), for one-machine deployments."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = FileLock(str(path), thread_local=False)

    def try_acquire(self) -> bool:
        """Take the lock without waiting."""
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            return False
        return True

    def release(self) -> None:
        """Release the lock."""
        self._lock.release()


class AdvisoryLeaderLock:
    """A PostgreSQL session advisory lock on a connection kept for the purpose."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._held: HeldLock | None = None

    def try_acquire(self) -> bool:
        """Take the lock without waiting."""
        self._held = self._db.try_advisory_lock(ADVISORY_KEY)
        return self._held is not None

    def release(self) -> None:
        """Release the lock and close its connection."""
        if self._held is not None:
            held, self._held = self._held, None
            held.release()


def leader_lock(db: Database, data_dir: Path) -> LeaderLock:
    """The right leader lock for the database in use."""
    if db.is_sqlite:
        return FileLeaderLock(data_dir / "publisher.lock")
    return AdvisoryLeaderLock(db)


def wait_for_leadership(lock: LeaderLock, stop: threading.Event, poll: float = 1.0) -> bool:
    """Block until the lock is ours (True) or ``stop`` is set (False)."""
    announced = False
    while not stop.is_set():
        if lock.try_acquire():
            return True
        if not announced:
            logger.info("another publisher holds the lock; standing by")
            announced = True
        stop.wait(poll)
    return False
