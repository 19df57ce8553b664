"""Alembic's entry point: migrate the database this run was given.

``endorse admin migrate`` (``endorse.storage.db.schema``) passes its open
connection in ``config.attributes["connection"]``. The ``alembic`` command
(``alembic check`` in CI) names the database with ``-x url=...``, or gets
the index's own from ``ENDORSE_DATABASE_URL`` / ``ENDORSE_DATA_DIR``.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Connection

from endorse.settings import Settings
from endorse.storage.db.database import Database
from endorse.storage.db.models import Base


def _migrate(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,  # SQLite alters a table by copying it
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _migrate(connection)
else:
    url = context.get_x_argument(as_dictionary=True).get("url")
    database = Database(url or Settings.from_env(os.environ).resolved_database_url)
    try:
        with database.migration_connection() as conn:
            _migrate(conn)
    finally:
        database.dispose()
