"""``endorse admin``: accounts, tokens, projects, import, yank/remove, status."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

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
from tuf.api.metadata import Metadata, Targets

from endorse.cli._console import (
    data_dir_option,
    err,
    load_settings,
    out,
    read_secret,
    setup_logging,
)
from endorse.cli._exit import reports_errors
from endorse.index.claims import parse_key
from endorse.index.events import EventStatus, KeyChange, KeyChangeAction, SigningEvents
from endorse.publisher.keyring import Keyring
from endorse.services.demo import ensure_repository
from endorse.services.index import Services, migrate_database
from endorse.services.publishing import import_directory, prune_now, recover_online_keys
from endorse.states import ProjectStatus

P = ParamSpec("P")
R = TypeVar("R")


def _services(data_dir: Path | None) -> Services:
    return Services.open_existing(load_settings(data_dir=data_dir))


@click.group()
def admin() -> None:
    """Administer the index (runs on the index's machine, against its data folder)."""


@admin.command("migrate")
@data_dir_option
@reports_errors
def migrate_command(data_dir: Path | None) -> None:
    """Upgrade the database's schema to this endorse's (back it up first).

    Every endorse command refuses a database at an older schema; this one
    brings it up to date, keeping every row. An empty database is created.

    \b
    Example:
      endorse admin migrate --data-dir ./endorse-data
    """
    done = migrate_database(load_settings(data_dir=data_dir))
    if done.before == done.after:
        out.print(f"the database is at revision {done.after}, the newest: nothing to do")
    else:
        out.print(f"migrated the database from {done.before or 'empty'} to {done.after}")


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


@project.command("status")
@click.argument("project_name")
@click.argument("status", type=click.Choice([s.value for s in ProjectStatus]))
@click.option("--reason", default="", help="Shown with the status (in the listing).")
@data_dir_option
@reports_errors
def project_status(project_name: str, status: str, reason: str, data_dir: Path | None) -> None:
    """Set a project's status marker (PEP 792); only administrators quarantine.

    Archived and quarantined projects take no uploads; a quarantined project's
    files are not offered. The signed listings change in the next batch.

    \b
    Example:
      endorse admin project status evil-pkg quarantined --reason "malware, see #123"
    """
    before = _services(data_dir).projects.set_status(
        project_name, ProjectStatus(status), reason, by_owner=None
    )
    out.print(f"{project_name}: {before} -> {status}")


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
    count = _services(data_dir).uploads.set_yanked(
        project_name, version, yanked=not undo, reason=reason
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
    count = _services(data_dir).uploads.remove_files(
        project_name, version=version, filename=filename
    )
    out.print(f"removed {count} file(s)")


@admin.command("import")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--owner", default=None, help="Make this user the owner of new projects.")
@data_dir_option
@click.option("-v", "--verbose", count=True)
@reports_errors
def import_(folder: Path, owner: str | None, data_dir: Path | None, verbose: int) -> None:
    """Back-sign a folder of existing distributions (a PyPI mirror) in one pass.

    Wheels and sdists are checked as uploads are; the formats PyPI once took
    (.zip, .tar.bz2 sdists, .egg, .exe, .msi) are imported as files too. Every
    file is imported, found already on the index, or listed with the reason it
    was skipped.

    \b
    Example:
      endorse admin import ./mirror/packages --owner alice
    """
    setup_logging(verbose)
    services = _services(data_dir)
    owner_id = services.accounts.user_id(owner) if owner is not None else None
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

        result = import_directory(services, folder, owner_id=owner_id, progress=progress)
    for name, reason in result.skipped:
        err.print(f"skipped {name}: {reason}", highlight=False)
    out.print(
        f"imported {result.imported} of {result.examined} file(s) under {folder}: "
        f"{result.already} already on the index, {len(result.skipped)} skipped"
        + (" (listed above)" if result.skipped else "")
    )
    if result.by_running_publisher:
        out.print("signed by the publisher that is running")
    else:
        out.print(f"signed in {result.batches} batch(es)")
    if result.created:
        names = ", ".join(result.created[:10]) + (" …" if len(result.created) > 10 else "")
        owned = f"owned by {owner}" if owner is not None else "without an owner"
        out.print(f"{len(result.created)} new project(s), {owned}: {names}")
        if owner is None:
            out.print(
                "give each an owner, who may then upload and add maintainers: "
                "`endorse admin project add-member NAME USER --role owner` "
                "(or import with --owner USER)"
            )


@admin.command("prune")
@data_dir_option
@click.option("--grace", type=float, default=None, help="Seconds to keep superseded files.")
@reports_errors
def prune_command(data_dir: Path | None, grace: float | None) -> None:
    """Delete superseded metadata and listings (never root) now."""
    services = _services(data_dir)
    result = prune_now(services, None if grace is None else timedelta(seconds=grace))
    out.print(f"pruned {result.metadata} metadata file(s) and {result.targets} target file(s)")


@admin.command("status")
@data_dir_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@reports_errors
def status(data_dir: Path | None, as_json: bool) -> None:
    """The newest timestamp, the publish queue, and the next expiries."""
    status = _services(data_dir).status()
    info: dict[str, object] = {}
    if status.timestamp_version is not None and status.timestamp_expires is not None:
        info["timestamp_version"] = status.timestamp_version
        info["timestamp_expires"] = status.timestamp_expires.isoformat()
    info["pending_projects"] = status.pending_projects
    info["next_expiries"] = {name: when.isoformat() for name, when in status.next_expiries.items()}
    if as_json:
        out.print_json(json.dumps(info))
        return
    table = Table("what", "value")
    for key, value in info.items():
        table.add_row(key, json.dumps(value) if isinstance(value, dict) else str(value))
    out.print(table)


@admin.group()
def event() -> None:
    """Offline signing events: move recently-claimed projects into `claimed`."""


def _events(data_dir: Path | None) -> SigningEvents:
    return _services(data_dir).events


def _print_event(status: EventStatus) -> None:
    table = Table(
        "what", "value", title=f"signing event {status.id}: {status.role} v{status.version}"
    )
    table.add_row("state", status.state)
    table.add_row("moved into claimed", ", ".join(status.summary.get("moved", [])) or "-")
    table.add_row(
        "developer keys changed", ", ".join(status.summary.get("keys_changed", [])) or "-"
    )
    needed = " (old and new root keys)" if status.role == "root" else ""
    table.add_row("signatures", f"{status.signatures} of {status.threshold} needed{needed}")
    table.add_row("complete", "yes" if status.complete else "no")
    table.add_row("signed by keys", ", ".join(k[:12] for k in status.signed_by) or "-")
    out.print(table)


def _offline_keys_options(func: Callable[P, R]) -> Callable[P, R]:
    """``--keyring`` and ``--kind``: which offline keys sign an event."""
    func = click.option(
        "--kind", default="claimed", show_default=True, help="Which keys of the keyring sign."
    )(func)
    return click.option(
        "--keyring",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        required=True,
        help="An offline keyring file (securesystemslib URIs: files, hsm:, KMS).",
    )(func)


@event.command("prepare")
@data_dir_option
@reports_errors
def event_prepare(data_dir: Path | None) -> None:
    """Prepare the next version of `claimed` and show what it changes.

    \b
    Example:
      endorse admin event prepare
    """
    _print_event(_events(data_dir).prepare_claimed())


@event.command("list")
@data_dir_option
@reports_errors
def event_list(data_dir: Path | None) -> None:
    """Events not yet published."""
    events = _events(data_dir).open_events()
    if not events:
        out.print("no open signing event")
    for status in events:
        _print_event(status)


@event.command("show")
@click.argument("event_id", type=int)
@data_dir_option
@reports_errors
def event_show(event_id: int, data_dir: Path | None) -> None:
    """What an event changes and who has signed it."""
    _print_event(_events(data_dir).status(event_id))


@event.command("export")
@click.argument("event_id", type=int)
@click.argument("output", type=click.Path(dir_okay=False, path_type=Path))
@data_dir_option
@reports_errors
def event_export(event_id: int, output: Path, data_dir: Path | None) -> None:
    """Write the event's metadata to a file, to sign on an offline machine."""
    output.write_bytes(_events(data_dir).metadata(event_id))
    out.print(f"wrote {output}: sign it with `endorse admin event sign-file`")


@event.command("sign-file")
@click.argument("metadata", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_offline_keys_options
@click.option("--yes", is_flag=True, help="Sign without asking.")
@reports_errors
def event_sign_file(metadata: Path, keyring: Path, kind: str, yes: bool) -> None:
    """On an administrator's offline machine: add this administrator's signature.

    \b
    Example:
      endorse admin event sign-file event-3.json --keyring /media/usb/claimed.json
    """
    md = Metadata[Any].from_bytes(metadata.read_bytes())
    signed = md.signed
    if isinstance(signed, Targets) and signed.delegations and signed.delegations.roles:
        delegated = ", ".join(sorted(signed.delegations.roles)[:20])
        err.print(f"{signed.type} v{signed.version}: delegates to {delegated}")
    else:
        err.print(f"{signed.type} v{signed.version}, expires {signed.expires.isoformat()}")
    if not yes:
        click.confirm("Sign it?", abort=True, err=True)
    signed_bytes = Keyring.load(keyring, _pin_handler).add_signatures(kind, metadata.read_bytes())
    metadata.write_bytes(signed_bytes)
    out.print(f"signed {metadata}: bring it back with `endorse admin event add-signatures`")


@event.command("add-signatures")
@click.argument("event_id", type=int)
@click.argument("metadata", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@data_dir_option
@reports_errors
def event_add_signatures(event_id: int, metadata: Path, data_dir: Path | None) -> None:
    """Merge signatures made offline into the event (each is checked)."""
    _print_event(_events(data_dir).add_signatures(event_id, metadata.read_bytes()))


@event.command("sign")
@click.argument("event_id", type=int)
@_offline_keys_options
@data_dir_option
@reports_errors
def event_sign(event_id: int, keyring: Path, kind: str, data_dir: Path | None) -> None:
    """Sign an event in place (when the offline keys are reachable from here, e.g. a token).

    \b
    Example:
      endorse admin event sign 3 --keyring keys/offline-DEMO-NOT-FOR-PRODUCTION.json
    """
    events = _events(data_dir)
    signed = Keyring.load(keyring, _pin_handler).add_signatures(kind, events.metadata(event_id))
    _print_event(events.add_signatures(event_id, signed))


@event.command("publish")
@click.argument("event_id", type=int)
@data_dir_option
@reports_errors
def event_publish(event_id: int, data_dir: Path | None) -> None:
    """Publish a fully signed event (the publisher applies it in its next batch)."""
    _print_event(_events(data_dir).publish(event_id))


@admin.command("revoke-key")
@click.argument("keyid")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@data_dir_option
@reports_errors
def admin_revoke_key(keyid: str, yes: bool, data_dir: Path | None) -> None:
    """Remove a compromised developer key from every delegation.

    Recently-claimed projects change in the next batch; claimed ones in the
    next signing event, so hold one at once.

    \b
    Example:
      endorse admin revoke-key 3f2a9c41b7d0
    """
    if not yes:
        click.confirm(f"Revoke developer key {keyid[:12]}?", abort=True, err=True)
    projects = _services(data_dir).claims.revoke_key(keyid, identity=None)
    out.print(f"revoked {keyid[:12]}; affected projects: {', '.join(projects) or 'none'}")
    out.print("claimed projects change in the next signing event: `endorse admin event prepare`")


def _pin_handler(secret: str) -> str:
    return read_secret(f"{secret.capitalize()} for the offline key", from_stdin=False)


@admin.command("recover")
@click.option(
    "--known-good-snapshot",
    type=int,
    required=True,
    help="A snapshot version from before the compromise (still stored).",
)
@click.option(
    "--keyring",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="The offline keyring with the root and targets keys.",
)
@click.option(
    "--requeue",
    is_flag=True,
    help="Afterwards re-publish every index-signed project from the database.",
)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@data_dir_option
@reports_errors
def recover_command(
    known_good_snapshot: int, keyring: Path, requeue: bool, yes: bool, data_dir: Path | None
) -> None:
    """Recover from a compromise of the online keys (PEP 480).

    Rotates every online key (new root and targets versions signed with the
    offline keys), wipes recently-claimed, re-signs unclaimed and every bin
    from the known-good snapshot, and publishes a new snapshot and timestamp.
    Stop every publisher first.

    \b
    Example:
      endorse admin recover --known-good-snapshot 41 --keyring /media/usb/offline.json
    """
    services = _services(data_dir)
    if not yes:
        click.confirm(
            "Rotate all online keys and republish from snapshot "
            f"v{known_good_snapshot}? Recently-claimed projects must claim again.",
            abort=True,
            err=True,
        )
    report = recover_online_keys(
        services,
        Keyring.load(keyring, _pin_handler),
        known_good_snapshot=known_good_snapshot,
        requeue=requeue,
    )
    out.print(f"root v{report.root_version}, timestamp v{report.timestamp_version} published")
    out.print(
        f"claims wiped (maintainers must claim again): {', '.join(report.wiped_claims) or '-'}"
    )
    for label, paths in (
        ("added", report.added),
        ("changed", report.changed),
        ("removed", report.removed),
    ):
        for path in sorted(paths):
            out.print(
                f"  {label} since the known-good snapshot (now undone): {path}", highlight=False
            )
    if report.requeued:
        out.print(f"re-publishing {report.requeued} project(s) from the database")


def _key_changes(
    add: tuple[str, ...], remove: tuple[str, ...], thresholds: tuple[str, ...]
) -> list[KeyChange]:
    changes = []
    for item in add:
        role, _, path = item.partition("=")
        raw = json.loads(Path(path).read_text())
        changes.append(KeyChange(KeyChangeAction.ADD, role, key=parse_key(raw)))
    for item in remove:
        role, _, keyid = item.partition("=")
        changes.append(KeyChange(KeyChangeAction.REMOVE, role, keyid=keyid))
    for item in thresholds:
        role, _, value = item.partition("=")
        try:
            threshold = int(value)
        except ValueError as e:
            raise click.BadParameter(f"{item!r}: not ROLE=N", param_hint="--threshold") from e
        changes.append(KeyChange(KeyChangeAction.THRESHOLD, role, threshold=threshold))
    if not changes:
        raise click.UsageError("give at least one --add-key, --remove-key or --threshold")
    return changes


@event.command("prepare-keys")
@click.argument("role", type=click.Choice(["root", "targets"]))
@click.option(
    "--add-key",
    "add",
    multiple=True,
    metavar="ROLE=PUBKEY.json",
    help="Add a key (as `endorse key show` prints it) to ROLE.",
)
@click.option("--remove-key", "remove", multiple=True, metavar="ROLE=KEYID", help="Remove a key.")
@click.option("--threshold", "thresholds", multiple=True, metavar="ROLE=N", help="Set a threshold.")
@data_dir_option
@reports_errors
def event_prepare_keys(
    role: str,
    add: tuple[str, ...],
    remove: tuple[str, ...],
    thresholds: tuple[str, ...],
    data_dir: Path | None,
) -> None:
    """A root ceremony or a key rotation: the next root (root and targets keys) or
    targets (claimed keys), shown before anyone signs it.

    A root event needs a threshold of the old AND of the new root keys.

    \b
    Example:
      endorse admin event prepare-keys root --add-key root=alice.pub.json --threshold root=2
    """
    status = _events(data_dir).prepare_keys(role, _key_changes(add, remove, thresholds))
    _print_event(status)
    for line in status.summary.get("changes", []):
        out.print(f"  {line}", highlight=False)


@admin.command("register-key")
@click.argument("username")
@click.argument("public_key", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@data_dir_option
@reports_errors
def admin_register_key(username: str, public_key: Path, yes: bool, data_dir: Path | None) -> None:
    """Register a developer key for a user whose keys were all revoked.

    Check the key with its owner out of band first: this is the step a stolen
    password must not be able to take.

    \b
    Example:
      endorse admin register-key alice alice-new-laptop.pub.json
    """
    key = parse_key(json.loads(public_key.read_text()))
    if not yes:
        click.confirm(f"Register key {key.keyid[:12]} for {username}?", abort=True, err=True)
    services = _services(data_dir)
    services.claims.register_key(
        services.accounts.administrator_as(username), key, label="registered by an administrator"
    )
    out.print(f"registered key {key.keyid[:12]} for {username}")
