"""Developer commands (PEP 480): register keys, claim, upload signed releases, co-sign.

The index and credentials come from ``--index`` / ``ENDORSE_INDEX_URL`` and
``ENDORSE_USERNAME`` (default ``__token__``) with ``ENDORSE_PASSWORD`` (a
password or an API token); without ``ENDORSE_PASSWORD`` the command asks.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ParamSpec, TypeVar

import click
from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename
from rich.table import Table
from securesystemslib.signer import Signature, Signer
from tuf.api.metadata import Metadata, Targets

from endorse.api.models import ClaimDetails, ReleaseResponse
from endorse.cli._console import err, out, read_secret
from endorse.cli._exit import ExitCode, reports_errors
from endorse.cli.key import (
    _keys_dir_option,
    _keystore,
    _secrets_handler,
    _stdin_option,
    _token_module,
    key,
)
from endorse.developer import IndexClient, build_release, sign_release
from endorse.errors import EndorseError, NotFound
from endorse.signing.descriptor import KeyDescriptor
from endorse.signing.keystore import load_signer
from endorse.states import ProjectStatus, ReleaseState

P = ParamSpec("P")
R = TypeVar("R")


def _index_option(func: Callable[P, R]) -> Callable[P, R]:
    return click.option(
        "--index",
        envvar="ENDORSE_INDEX_URL",
        required=True,
        help="Base URL of the index [env ENDORSE_INDEX_URL].",
    )(func)


def _key_option(func: Callable[P, R]) -> Callable[P, R]:
    return click.option("--key", "key_name", required=True, help="Local name of your key.")(func)


def _client(index: str) -> IndexClient:
    username = os.environ.get("ENDORSE_USERNAME", "__token__")
    password = os.environ.get("ENDORSE_PASSWORD") or read_secret(
        f"Password or token for {username} at {index}", from_stdin=False
    )
    return IndexClient(index, username, password)


@contextlib.contextmanager
def _signer(
    name: str, keys_dir: Path | None, from_stdin: bool
) -> Iterator[tuple[KeyDescriptor, Signer]]:
    descriptor = _keystore(keys_dir).get(name)
    with _token_module(descriptor, None):
        yield descriptor, load_signer(descriptor, _secrets_handler(name, from_stdin=from_stdin))


def _project_of(files: tuple[Path, ...]) -> str:
    names = set()
    for path in files:
        if path.name.endswith(".whl"):
            names.add(parse_wheel_filename(path.name)[0])
        else:
            names.add(parse_sdist_filename(path.name)[0])
    if len(names) != 1:
        raise EndorseError(
            f"the files belong to {len(names)} projects; upload one project at a time"
        )
    return names.pop()


def _previous(client: IndexClient, claim: ClaimDetails, wait: float = 30) -> bytes | None:
    """The current signed version of the project's role (waits for its publication)."""
    if not claim["version"]:
        return None
    deadline = time.monotonic() + wait
    while True:
        try:
            return client.role_metadata(claim["role"], claim["version"])
        except NotFound:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _report(outcome: ReleaseResponse, project: str) -> None:
    signed = ", ".join(outcome["signed_by"])
    if outcome["state"] is ReleaseState.ACCEPTED:
        out.print(f"{project}: version {outcome['version']} accepted (signed by {signed})")
    else:
        missing = outcome["threshold"] - len(outcome["signed_by"])
        out.print(
            f"{project}: version {outcome['version']} is pending release {outcome['pending_id']}: "
            f"{missing} more maintainer(s) must sign it with `endorse sign {project}`"
        )


@key.command("register")
@click.argument("name")
@_index_option
@click.option(
    "--endorsement",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="For a further machine: the output of `endorse key endorse-machine`.",
)
@_keys_dir_option
@reports_errors
def register(name: str, index: str, endorsement: Path | None, keys_dir: Path | None) -> None:
    """Register this machine's key with the index (its public half only).

    \b
    Example:
      endorse key register laptop --index https://index.example/
    """
    descriptor = _keystore(keys_dir).get(name)
    statement = signature = None
    if endorsement is not None:
        document = json.loads(endorsement.read_text())
        statement = document["statement"]
        signature = Signature.from_dict(document["signature"])
    client = _client(index)
    keyid = client.register_key(
        descriptor.public_key, label=descriptor.machine, statement=statement, signature=signature
    )
    out.print(f"registered key {keyid[:12]} ({name})")


@key.command("revoke")
@click.argument("keyid")
@_index_option
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@reports_errors
def revoke(keyid: str, index: str, yes: bool) -> None:
    """Revoke one of your registered keys (a lost or retired machine).

    Your projects then need a new version signed by a remaining key
    (`endorse upload --resign`) before they install again.

    \b
    Example:
      endorse key revoke 3f2a9c41b7d0 --index https://index.example/
    """
    if not yes:
        click.confirm(
            f"Revoke key {keyid[:12]}? Its signatures stop counting.", abort=True, err=True
        )
    projects = _client(index).revoke_key(keyid)
    out.print(f"revoked {keyid[:12]}; re-sign: {', '.join(projects) or 'no claimed projects'}")


@click.command()
@click.argument("project")
@_index_option
@_key_option
@click.option("--maintainer", "maintainers", multiple=True, help="Another maintainer (repeatable).")
@click.option(
    "--threshold", type=int, default=1, show_default=True, help="Maintainers who must sign."
)
@click.option(
    "--no-existing", is_flag=True, help="Do not vouch for the files already on the index."
)
@_keys_dir_option
@_stdin_option
@reports_errors
def claim(
    project: str,
    index: str,
    key_name: str,
    maintainers: tuple[str, ...],
    threshold: int,
    no_existing: bool,
    keys_dir: Path | None,
    passphrase_stdin: bool,
) -> None:
    """Claim a project (PEP 480): from now on its developers sign its files.

    Registers your key if needed, records the claim, and signs the project's
    first version, vouching for the files already on the index (check them
    first) unless --no-existing.

    \b
    Example:
      endorse claim sampleproject --key laptop --maintainer bob --threshold 2
    """
    client = _client(index)
    with _signer(key_name, keys_dir, passphrase_stdin) as (descriptor, signer):
        with contextlib.suppress(EndorseError):
            client.register_key(descriptor.public_key, label=descriptor.machine)
        info = client.claim(project, maintainers=list(maintainers), threshold=threshold)
        md = build_release(info, [], previous=None, vouch_for_existing=not no_existing)
        err.print(f"signing version 1 of {info['name']} with {len(md.signed.targets)} targets")
        sign_release(md, signer)
        outcome = client.submit_release(info["name"], md.to_bytes(), [])
    _report(outcome, info["name"])


@click.command()
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_index_option
@_key_option
@click.option("--resign", is_flag=True, help="Sign what the index holds (after a key revocation).")
@click.option("--project", default=None, help="The project (when re-signing without new files).")
@_keys_dir_option
@_stdin_option
@reports_errors
def upload(
    files: tuple[Path, ...],
    index: str,
    key_name: str,
    resign: bool,
    project: str | None,
    keys_dir: Path | None,
    passphrase_stdin: bool,
) -> None:
    """Sign and upload a release of a claimed project, files and metadata in one transaction.

    \b
    Example:
      endorse upload dist/* --key laptop
    """
    if not files and not project:
        raise click.UsageError("give the distribution files to upload (or --project with --resign)")
    client = _client(index)
    name = canonicalize_name(project) if project else _project_of(files)
    info = client.project(name)
    if not info["claim"]:
        raise EndorseError(
            f"{name!r} is not claimed", hint="upload with twine, or `endorse claim` it"
        )
    previous = None if resign else _previous(client, info["claim"])
    md = build_release(info, list(files), previous=previous)
    if resign:
        err.print(f"re-signing {len(md.signed.targets)} targets as the index reports them:")
        for path in sorted(md.signed.targets):
            err.print(f"  {path}", highlight=False)
    with _signer(key_name, keys_dir, passphrase_stdin) as (_descriptor, signer):
        sign_release(md, signer)
    _report(client.submit_release(name, md.to_bytes(), list(files)), name)


@click.command()
@click.argument("project")
@_index_option
@_key_option
@click.option("--release", "release_id", type=int, default=None, help="Only this pending release.")
@click.option("--yes", is_flag=True, help="Sign without asking.")
@_keys_dir_option
@_stdin_option
@reports_errors
def sign(
    project: str,
    index: str,
    key_name: str,
    release_id: int | None,
    yes: bool,
    keys_dir: Path | None,
    passphrase_stdin: bool,
) -> None:
    """Co-sign a pending release (threshold above one), after showing what it changes.

    \b
    Example:
      endorse sign sampleproject --key desktop
    """
    client = _client(index)
    name = canonicalize_name(project)
    current = client.project(name)
    previous = _previous(client, current["claim"]) if current["claim"] else None
    before = set(Metadata[Targets].from_bytes(previous).signed.targets) if previous else set()
    pending = [(i, m) for i, m in client.pending(name) if release_id in (None, i)]
    if not pending:
        raise NotFound(f"no pending release of {name!r}")
    with _signer(key_name, keys_dir, passphrase_stdin) as (_descriptor, signer):
        for pending_id, raw in pending:
            md = Metadata[Targets].from_bytes(raw)
            after = set(md.signed.targets)
            table = Table(
                "change",
                "target",
                title=f"pending release {pending_id}: version {md.signed.version}",
            )
            for path in sorted(after - before):
                table.add_row("+ added", path)
            for path in sorted(before - after):
                table.add_row("- removed", path)
            err.print(table)
            if not yes and not click.confirm("Sign this release?", err=True):
                raise SystemExit(ExitCode.REFUSED)
            _report(client.cosign(name, pending_id, [signer.sign(md.signed_bytes)]), name)


@click.group()
def project() -> None:
    """Your projects on the index (owners)."""


@project.command("status")
@click.argument("project_name")
@click.argument(
    "status",
    type=click.Choice([s.value for s in ProjectStatus if s is not ProjectStatus.QUARANTINED]),
)
@_index_option
@click.option(
    "--reason", default="", help="Shown with the status, e.g. the project to use instead."
)
@reports_errors
def project_status(project_name: str, status: str, index: str, reason: str) -> None:
    """Mark a project active, archived or deprecated (PEP 792); installers see it.

    An archived project takes no new uploads until an owner sets it active
    again; a deprecated one is as active, with a warning for its users.

    \b
    Example:
      endorse project status oldproject deprecated --reason "use newproject"
    """
    answer = _client(index).set_status(project_name, ProjectStatus(status), reason)
    shown = answer.get("status")
    out.print(f"{answer['name']}: {shown['status'] if shown else status}")
