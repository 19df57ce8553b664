"""The database schema's version, and its migrations (Alembic).

Every schema change ships as a revision under ``migrations/versions``. An
empty database is created at the newest revision; a database at an older one
is refused (:class:`~endorse.errors.SchemaOutOfDate`) until an administrator
runs ``endorse admin migrate``, so no process writes to a schema it does not
know. A database made before endorse had migrations holds the tables of the
first revision and no version: migrating stamps it there first.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib.resources import files
from typing import TYPE_CHECKING

from sqlalchemy import Connection, text

from endorse.errors import SchemaOutOfDate
from endorse.storage.db.database import Database

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = [
    "FIRST_REVISION",
    "HEAD_REVISION",
    "MIGRATE_COMMAND",
    "Migration",
    "alembic_config",
    "current_revision",
    "head_revision",
    "migrate",
    "prepare",
]

logger = logging.getLogger(__name__)

FIRST_REVISION = "0001"
#: The newest revision this endorse knows. Written here so that checking a
#: database needs no Alembic (every command checks at start);
#: ``tests/storage/test_migrations.py`` holds it against the revisions.
HEAD_REVISION = "0003"
MIGRATE_COMMAND = "endorse admin migrate"
#: A table every revision has: a database with it but no version predates migrations.
_SENTINEL_TABLE = "projects"
_VERSION_TABLE = "alembic_version"
_SELECT_VERSION = text("SELECT version_num FROM alembic_version")


@dataclass(frozen=True)
class Migration:
    """What :func:`migrate` did."""

    #: The revision before, or None for an empty database.
    before: str | None
    after: str


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration for endorse's migrations (and a connection to run them on)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(files("endorse.storage.db") / "migrations"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision this endorse knows."""
    return HEAD_REVISION


def current_revision(db: Database) -> str | None:
    """The database's revision; the first for a database made before migrations;
    None for an empty database."""
    tables = db.table_names()
    if _VERSION_TABLE in tables:
        with db.connection() as connection:
            revision = connection.execute(_SELECT_VERSION).scalar()
        if revision is not None:
            return str(revision)
    return FIRST_REVISION if _SENTINEL_TABLE in tables else None


def migrate(db: Database, revision: str = "head") -> Migration:
    """Upgrade the database to ``revision`` (the newest by default)."""
    from alembic import command

    before = current_revision(db)
    made_before_migrations = before is not None and _VERSION_TABLE not in db.table_names()
    with db.migration_connection() as connection:
        config = alembic_config(connection)
        if made_before_migrations:
            command.stamp(config, FIRST_REVISION)
        command.upgrade(config, revision)
    after = current_revision(db)
    assert after is not None  # noqa: S101 - an upgrade leaves a version behind
    if after != before:
        logger.info("migrated the database from %s to %s", before or "empty", after)
    return Migration(before, after)


def prepare(db: Database) -> None:
    """Create an empty database at the newest revision; refuse one at an older revision."""
    current = current_revision(db)
    if current is None:
        migrate(db)
        return
    head = head_revision()
    if current != head:
        raise SchemaOutOfDate(
            f"the database schema is at revision {current}; this endorse needs revision "
            f"{head}: upgrade it with `{MIGRATE_COMMAND}`",
            hint="back up the database first, and run the command with the same settings",
        )
