"""Schema migrations: every row kept from the first revision to the newest, on SQLite
and PostgreSQL; models equal to migrations (``alembic check``); an old schema refused
with the command that upgrades it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from alembic import command
from alembic.script import ScriptDirectory
from click.testing import CliRunner
from securesystemslib.signer import CryptoSigner
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from endorse.cli import main
from endorse.clock import SystemClock
from endorse.developer import IndexClient, build_release, sign_release
from endorse.errors import SchemaOutOfDate
from endorse.publisher.bootstrap import OFFLINE_KEYRING
from endorse.publisher.keyring import Keyring
from endorse.services.demo import ensure_repository
from endorse.services.index import Services
from endorse.services.publishing import open_publisher
from endorse.settings import Settings
from endorse.storage import InMemoryBlobStore
from endorse.storage.db import Base, Database
from endorse.storage.db.schema import (
    FIRST_REVISION,
    HEAD_REVISION,
    alembic_config,
    current_revision,
    head_revision,
    migrate,
    prepare,
)
from endorse.web import create_app
from tests.conftest import FAST_ENV, upload_form
from tests.inprocess import URL, AppTransport, SynchronousPublication
from tests.packages import make_sdist, make_wheel

CHEAP = {"password_memory_kib": 256, "password_iterations": 1}


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database on each engine."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'index.sqlite3'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


def fill_through_the_api(services: Services, folder: Path) -> None:
    """Everything the index records, made the way people make it (HTTP and admin calls)."""
    ensure_repository(services)
    publication = SynchronousPublication(open_publisher(services))
    transport = AppTransport(create_app(services, publication))
    try:
        token = services.accounts.create_token("demo", description="uploads")
        services.accounts.create_user("bob", "bobs-long-password")
        services.accounts.create_token("bob", projects=["other"])
        demo = IndexClient(URL, "__token__", token, transport=transport)
        dists = folder / "dists"
        with httpx.Client(transport=transport, base_url=URL) as http:
            for path in [
                make_wheel(dists, "alpha", "1.0"),
                make_sdist(dists, "alpha", "1.0"),
                make_wheel(dists, "alpha", "2.0"),
                make_wheel(dists, "claimed-pkg", "1.0"),
                make_wheel(dists, "waiting-pkg", "1.0"),
            ]:
                response = http.post(
                    "/legacy/",
                    data=upload_form(path),
                    files={"content": (path.name, path.read_bytes())},
                    auth=("__token__", token),
                )
                assert response.status_code == 200, response.text
        services.accounts.add_member("waiting-pkg", "bob")
        services.uploads.set_yanked("alpha", "2.0", yanked=True, reason="broken")
        services.uploads.remove_files("alpha", version=None, filename="alpha-1.0.tar.gz")
        signer = CryptoSigner.generate_ed25519()
        demo.register_key(signer.public_key, label="laptop")
        bob = IndexClient(URL, "bob", "bobs-long-password", transport=transport)
        bob.register_key(CryptoSigner.generate_ed25519().public_key)
        for name, maintainers, threshold in [("claimed-pkg", [], 1), ("waiting-pkg", ["bob"], 2)]:
            demo.claim(name, maintainers=maintainers, threshold=threshold)
            md = build_release(demo.project(name), [], previous=None)
            sign_release(md, signer)
            demo.submit_release(name, md.to_bytes(), [])
        events = services.events
        status = events.prepare_claimed()
        keyring = Keyring.load(services.settings.keys_dir / OFFLINE_KEYRING)
        signed = keyring.add_signatures("claimed", events.metadata(status.id))
        events.add_signatures(status.id, signed)
        events.publish(status.id)
        publication.publish()
    finally:
        transport.shutdown()


def all_rows(db: Database) -> dict[str, list[dict[str, object]]]:
    """Every row of every table the database has now, as column -> value, in key order."""
    rows = {}
    with db.connection() as connection:
        for table in Base.metadata.sorted_tables:
            if table.name not in db.table_names():
                continue
            order = ", ".join(c.name for c in table.primary_key.columns)
            result = connection.execute(text(f"SELECT * FROM {table.name} ORDER BY {order}"))  # noqa: S608
            rows[table.name] = [dict(row) for row in result.mappings()]
    return rows


def test_a_database_at_the_first_revision_keeps_every_row_when_upgraded(
    database_url: str, tmp_path: Path
) -> None:
    """Filled through the API (today's code writes today's schema), taken back to the
    first revision (what an operator of the first release has), then upgraded:
    every row and every value of the first revision is still there, and each
    column added since holds its default."""
    db = Database(database_url)
    try:
        settings = Settings(data_dir=tmp_path / "index", database_url=database_url, **CHEAP)
        settings.data_dir.mkdir(parents=True)
        migrate(db)
        services = Services.assemble(settings, db, InMemoryBlobStore(), SystemClock())
        fill_through_the_api(services, tmp_path)
        with db.migration_connection() as connection:
            command.downgrade(alembic_config(connection), FIRST_REVISION)
        assert current_revision(db) == FIRST_REVISION
        before = all_rows(db)
        assert all(before[t] for t in ("files", "project_claims", "signing_events", "batches"))
        assert len(before["pending_releases"]) == 1

        done = migrate(db)

        assert (done.before, done.after) == (FIRST_REVISION, head_revision())
        after = all_rows(db)
        assert after.keys() == before.keys()
        for table, rows in before.items():
            kept = [{column: row[column] for column in rows[0]} for row in after[table]]
            assert kept == rows, table
        # Columns of later revisions hold their defaults on the old rows.
        assert {row["status"] for row in after["projects"]} == {"active"}
        # What revision 0002 adds holds from now on.
        with pytest.raises(IntegrityError), db.connection() as connection:
            connection.execute(text("UPDATE project_claims SET state = 'stolen'"))
        with pytest.raises(IntegrityError), db.connection() as connection:
            connection.execute(text("UPDATE projects SET status = 'stolen'"))
        assert services.projects.files("alpha").files[0].filename == "alpha-2.0-py3-none-any.whl"
    finally:
        db.dispose()


def test_a_database_made_before_migrations_is_stamped_then_upgraded(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    try:
        migrate(db, FIRST_REVISION)
        with db.connection() as connection:
            connection.execute(text("DROP TABLE alembic_version"))
        assert current_revision(db) == FIRST_REVISION
        with pytest.raises(SchemaOutOfDate, match="endorse admin migrate"):
            prepare(db)
        assert migrate(db).after == head_revision()
        prepare(db)  # current now: no refusal
    finally:
        db.dispose()


def test_the_newest_revision_is_the_one_endorse_expects() -> None:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head == HEAD_REVISION == head_revision()


def test_an_empty_database_is_created_at_the_newest_revision() -> None:
    db = Database("sqlite://")
    assert current_revision(db) is None
    prepare(db)
    assert current_revision(db) == head_revision()
    assert {t.name for t in Base.metadata.sorted_tables} <= db.table_names()


def test_downgrade_and_upgrade_again(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    try:
        with db.migration_connection() as connection:
            config = alembic_config(connection)
            command.upgrade(config, "head")
            command.downgrade(config, FIRST_REVISION)
            command.upgrade(config, "head")
        assert current_revision(db) == head_revision()
    finally:
        db.dispose()


def test_models_equal_migrations(database_url: str) -> None:
    """``alembic check``: autogenerate finds nothing to add, on either engine."""
    db = Database(database_url)
    try:
        migrate(db)
        with db.connection() as connection:
            command.check(alembic_config(connection))
    finally:
        db.dispose()


@pytest.fixture
def old_index(tmp_path: Path) -> Iterator[Path]:
    """A data folder whose database is at the first revision."""
    data_dir = tmp_path / "index"
    data_dir.mkdir()
    db = Database(Settings(data_dir=data_dir).resolved_database_url)
    migrate(db, FIRST_REVISION)
    db.dispose()
    yield data_dir


def test_serve_refuses_an_old_schema_with_the_command_that_upgrades_it(old_index: Path) -> None:
    runner = CliRunner(env=FAST_ENV)
    refused = runner.invoke(main, ["serve", "--port", "0", "--data-dir", str(old_index)])
    assert refused.exit_code == 2, refused.output
    assert f"schema is at revision {FIRST_REVISION}" in refused.stderr
    assert "endorse admin migrate" in refused.stderr
    assert not (old_index / "keys").exists()  # it stopped before touching anything

    migrated = runner.invoke(main, ["admin", "migrate", "--data-dir", str(old_index)])
    assert migrated.exit_code == 0, migrated.output
    assert f"migrated the database from {FIRST_REVISION} to {head_revision()}" in migrated.stdout
    again = runner.invoke(main, ["admin", "migrate", "--data-dir", str(old_index)])
    assert "nothing to do" in again.stdout
    listed = runner.invoke(main, ["admin", "user", "list", "--data-dir", str(old_index)])
    assert listed.exit_code == 0, listed.output
