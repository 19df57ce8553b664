"""The database connection: an engine, one transaction per session, advisory locks.

SQLite is the embedded default, PostgreSQL the engine beyond one machine;
``sqlite://`` (no path) is a private in-memory database, for the fast tests.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from endorse.errors import Conflict, StorageError

__all__ = ["Database", "HeldLock", "RaceLost", "Session"]


class RaceLost(Conflict):
    """A concurrent transaction wrote the same unique value first; retrying may succeed."""


class Database:
    """An engine plus a session factory; ``session()`` is one transaction."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.in_memory = self.is_sqlite and url.rstrip("/") in ("sqlite:", "sqlite:///:memory:")
        kwargs: dict[str, Any] = {}
        if self.in_memory:
            # One connection shared by every session, so they all see one database.
            kwargs["connect_args"] = {"check_same_thread": False}
            kwargs["poolclass"] = StaticPool
        elif self.is_sqlite:
            kwargs["connect_args"] = {"timeout": 60, "check_same_thread": False}
        else:
            kwargs["pool_size"] = 10
            kwargs["max_overflow"] = 20
            kwargs["pool_pre_ping"] = True
        self.engine: Engine = create_engine(url, **kwargs)
        writer: Engine = self.engine
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "begin", _sqlite_begin)
            # Writers take the lock when they begin, not when they first write:
            # a deferred transaction that later upgrades fails with "database is
            # locked" at once instead of waiting for the busy timeout.
            writer = self.engine.execution_options(sqlite_immediate=True)
        self._sessions = sessionmaker(writer, expire_on_commit=False)
        self._read_sessions = sessionmaker(self.engine, expire_on_commit=False)
        # The shared in-memory connection takes one transaction at a time.
        self._serial = threading.RLock() if self.in_memory else None

    def _exclusive(self) -> AbstractContextManager[object]:
        return self._serial if self._serial is not None else nullcontext()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose transaction commits on success and rolls back on error.

        A unique value that a concurrent transaction wrote first raises
        :class:`RaceLost`, so callers can retry without knowing the engine.
        """
        try:
            with self._exclusive(), self._sessions() as session, session.begin():
                yield session
        except IntegrityError as e:
            if not _is_unique_violation(e):
                raise
            raise RaceLost(
                "a concurrent change wrote the same record first", hint="try again"
            ) from e

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """A session for reads only (does not wait for SQLite's write lock)."""
        with self._exclusive(), self._read_sessions() as session, session.begin():
            yield session

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """A plain connection in a transaction (for migrations)."""
        with self._exclusive(), self.engine.begin() as connection:
            yield connection

    @contextmanager
    def migration_connection(self) -> Iterator[Connection]:
        """A connection in a transaction for a schema migration.

        On SQLite a migration alters a table by copying it and dropping the old
        one, which foreign keys forbid while other tables refer to it: they are
        not enforced during the migration (SQLite ignores the pragma inside a
        transaction, so it is set before), and checked before it commits.
        """
        with self._exclusive(), self.engine.connect() as connection:
            raw = connection.connection.driver_connection if self.is_sqlite else None
            if raw is not None:
                raw.execute("PRAGMA foreign_keys=OFF")
            try:
                with connection.begin():
                    yield connection
                    if raw is not None:
                        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                        if broken:
                            raise StorageError(f"a migration broke foreign keys: {broken[:5]}")
            finally:
                if raw is not None:
                    raw.execute("PRAGMA foreign_keys=ON")

    def table_names(self) -> set[str]:
        """The tables that exist now."""
        with self._exclusive():
            return set(inspect(self.engine).get_table_names())

    def try_advisory_lock(self, key: int) -> HeldLock | None:
        """Take a PostgreSQL session advisory lock without waiting, or None if it is held.

        The lock lives on a connection of its own, kept until :meth:`HeldLock.release`;
        PostgreSQL drops it when that connection ends, SIGKILL included.
        """
        if self.is_sqlite:
            raise TypeError("advisory locks need PostgreSQL")
        conn = self.engine.connect()
        got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())
        conn.commit()
        if not got:
            conn.close()
            return None
        return HeldLock(conn, key)

    def dispose(self) -> None:
        """Close pooled connections."""
        self.engine.dispose()


class HeldLock:
    """A PostgreSQL advisory lock held on its own connection."""

    def __init__(self, conn: Connection, key: int) -> None:
        self._conn = conn
        self._key = key

    def release(self) -> None:
        """Release the lock and close its connection."""
        try:
            self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self._key})
            self._conn.commit()
        finally:
            self._conn.close()


def _is_unique_violation(error: IntegrityError) -> bool:
    # PostgreSQL names it by SQLSTATE; SQLite only in the message.
    return getattr(error.orig, "sqlstate", None) == "23505" or "UNIQUE constraint failed" in str(
        error.orig
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite's own is deferred).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=60000")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    immediate = connection.get_execution_options().get("sqlite_immediate", False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
