"""``endorse admin``: accounts, tokens, projects, import, yank/remove, status."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from sqlalchemy import func, select

from endorse.cli._console import (
    data_dir_option,
    err,
    load_settings,
    out,
    read_secret,
    reports_errors,
    setup_logging,
)
from endorse.demo import ensure_repository
from endorse.errors import NotFound
from endorse.repository.importer import import_directory
from endorse.repository.prune import prune
from endorse.services import Services
from endorse.storage.db import QueueEntry, RoleState, User
from endorse.uploads import remove_files, set_yanked


def _services(data_dir: Path | None) -> Services:
    return Services.open(load_settings(data_dir=data_dir))


@click.group()
def admin() -> None:
    """Administer the index (runs on the index's machine, against its data folder)."""


@admin.command("init")
@data_dir_option
@click.option("--bins", "bin_count", type=int, default=None, help="Number of hashed bins [16].")
@reports_errors
def init(data_dir: Path | None, bin_count: int | None) -> None:
    """Create a demo repository (keys generated here; not for production).

    \b
    Example:
      endorse admin init --bins 16384
    """
    services = Services.open(load_settings(data_dir=data_dir, bin_count=bin_count))
    with Progress(console=err, transient=True) as progress:
        task = progress.add_task("signing hashed bins", total=services.settings.bin_count)
        setup = ensure_repository(
            services, lambda d, t: progress.update(task, completed=d, total=t)
        )
    out.print(
        f"root sha256 {setup.root_sha256}" + (" (created)" if setup.created else " (existing)")
    )
    if setup.token:
        out.print(f"demo upload token: {setup.token}")


@admin.group()
def user() -> None:
    """Accounts."""


@user.command("add")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@data_dir_option
@reports_errors
def user_add(username: str, password_stdin: bool, data_dir: Path | None) -> None:
    """Create an account (the password is hashed with Argon2id).

    \b
    Example:
      endorse admin user add alice
    """
    services = _services(data_dir)
    password = read_secret("Password", from_stdin=password_stdin, confirm=True)
    services.accounts.create_user(username, password)
    out.print(f"created user {username}")


@user.command("list")
@data_dir_option
@reports_errors
def user_list(data_dir: Path | None) -> None:
    """List accounts."""
    for name in _services(data_dir).accounts.list_users():
        out.print(name)


@admin.group()
def token() -> None:
    """Upload tokens (use with twine as username __token__)."""


@token.command("create")
@click.argument("username")
@click.option("--project", "projects", multiple=True, help="Limit to this project (repeatable).")
@click.option("--description", default="", help="A note on what the token is for.")
@data_dir_option
@reports_errors
def token_create(
    username: str, projects: tuple[str, ...], description: str, data_dir: Path | None
) -> None:
    """Create an API token and print it (it is shown only once).

    A token scoped to projects gives its uploads trust level 2.

    \b
    Example:
      endorse admin token create alice --project sampleproject
    """
    services = _services(data_dir)
    value = services.accounts.create_token(
        username, projects=list(projects) or None, description=description
    )
    out.print(value, highlight=False)


@token.command("revoke")
@click.argument("username")
@data_dir_option
@reports_errors
def token_revoke(username: str, data_dir: Path | None) -> None:
    """Revoke every token of a user."""
    count = _services(data_dir).accounts.revoke_tokens(username)
    out.print(f"revoked {count} token(s) of {username}")


@admin.group()
def project() -> None:
    """Projects and their members."""


@project.command("add-member")
@click.argument("project_name")
@click.argument("username")
@click.option("--role", type=click.Choice(["owner", "maintainer"]), default="maintainer")
@data_dir_option
@reports_errors
def project_add_member(project_name: str, username: str, role: str, data_dir: Path | None) -> None:
    """Let a user upload to a project.

    \b
    Example:
      endorse admin project add-member sampleproject bob --role maintainer
    """
    _services(data_dir).accounts.add_member(project_name, username, role)
    out.print(f"{username} is now {role} of {project_name}")


@project.command("members")
@click.argument("project_name")
@data_dir_option
@reports_errors
def project_members(project_name: str, data_dir: Path | None) -> None:
    """List a project's owners and maintainers."""
    for username, role in _services(data_dir).accounts.members(project_name):
        out.print(f"{username}\t{role}")


@admin.command("yank")
@click.argument("project_name")
@click.argument("version")
@click.option("--reason", default="", help="Shown to installers (PEP 592).")
@click.option("--undo", is_flag=True, help="Un-yank the release.")
@data_dir_option
@reports_errors
def yank(project_name: str, version: str, reason: str, undo: bool, data_dir: Path | None) -> None:
    """Yank (or un-yank) a release; the listing is re-signed in the next batch.

    \b
    Example:
      endorse admin yank sampleproject 1.0 --reason "broken on Windows"
    """
    count = set_yanked(
        _services(data_dir).db, project_name, version, yanked=not undo, reason=reason
    )
    out.print(f"{'un-yanked' if undo else 'yanked'} {count} file(s)")


@admin.command("remove")
@click.argument("project_name")
@click.option("--version", default=None, help="Remove every file of this release.")
@click.option("--file", "filename", default=None, help="Remove this one file.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@data_dir_option
@reports_errors
def remove(
    project_name: str, version: str | None, filename: str | None, yes: bool, data_dir: Path | None
) -> None:
    """Remove files from the index; their filenames can never be uploaded again.

    \b
    Example:
      endorse admin remove sampleproject --version 1.0
    """
    if version is None and filename is None:
        raise click.UsageError("give --version or --file")
    what = filename or f"every file of {project_name} {version}"
    if not yes:
        click.confirm(f"Remove {what}? Its filename stays reserved for ever.", abort=True, err=True)
    count = remove_files(_services(data_dir).db, project_name, version=version, filename=filename)
    out.print(f"removed {count} file(s)")


@admin.command("import")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--owner", default=None, help="Make this user the owner of new projects.")
@data_dir_option
@click.option("-v", "--verbose", count=True)
@reports_errors
def import_(folder: Path, owner: str | None, data_dir: Path | None, verbose: int) -> None:
    """Back-sign a folder of existing wheels and sdists in one pass.

    \b
    Example:
      endorse admin import ./mirror/packages --owner alice
    """
    setup_logging(verbose)
    services = _services(data_dir)
    keyring = services.online_keyring() if services.settings.tuf_enabled else None
    owner_id = None
    if owner is not None:
        with services.db.read_session() as session:
            owner_id = session.scalar(select(User.id).where(User.username == owner))
        if owner_id is None:
            raise NotFound(f"no user {owner!r}")
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        result = import_directory(
            services, folder, keyring=keyring, owner_id=owner_id, progress=progress
        )
    out.print(f"imported {result.imported} file(s) in {result.batches} batch(es)")
    for name, reason in result.skipped:
        err.print(f"skipped {name}: {reason}", highlight=False)


@admin.command("prune")
@data_dir_option
@click.option("--grace", type=float, default=None, help="Seconds to keep superseded files.")
@reports_errors
def prune_command(data_dir: Path | None, grace: float | None) -> None:
    """Delete superseded metadata and listings (never root) now."""
    from datetime import timedelta

    services = _services(data_dir)
    seconds = services.settings.prune_grace if grace is None else grace
    result = prune(services.store, services.db, timedelta(seconds=seconds))
    out.print(f"pruned {result.metadata} metadata file(s) and {result.targets} target file(s)")


@admin.command("status")
@data_dir_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@reports_errors
def status(data_dir: Path | None, as_json: bool) -> None:
    """The newest timestamp, the publish queue, and the next expiries."""
    services = _services(data_dir)
    info: dict[str, object] = {}
    if services.settings.tuf_enabled and services.published.is_initialised():
        ts = services.published.timestamp().signed
        info["timestamp_version"] = ts.version
        info["timestamp_expires"] = ts.expires.isoformat()
    with services.db.read_session() as session:
        info["pending_projects"] = session.scalar(
            select(func.count()).select_from(QueueEntry).where(QueueEntry.batch_id.is_(None))
        )
        soonest = session.execute(
            select(RoleState.name, RoleState.expires).order_by(RoleState.expires).limit(5)
        ).all()
    info["next_expiries"] = {name: expires.isoformat() for name, expires in soonest}
    if as_json:
        out.print_json(json.dumps(info))
        return
    table = Table("what", "value")
    for key, value in info.items():
        table.add_row(key, json.dumps(value) if isinstance(value, dict) else str(value))
    out.print(table)
