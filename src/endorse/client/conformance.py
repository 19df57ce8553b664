"""endorse's verifying client behind the TUF conformance suite's client protocol.

The TUF project's client conformance suite (``theupdateframework/tuf-conformance``)
drives a client through three verbs, as its ``CLIENT-CLI.md`` describes::

    python -m endorse.client.conformance --metadata-dir DIR init TRUSTED_ROOT
    python -m endorse.client.conformance --metadata-dir DIR --metadata-url URL refresh
    python -m endorse.client.conformance --metadata-dir DIR --metadata-url URL \\
        --target-name PATH [--target-name PATH ...] --target-base-url URL --target-dir DIR download

It works on any TUF repository, whatever its role names or URL layout: the
same :class:`~endorse.client.view.RepositoryView` (ngclient's top-level
workflow, endorse's own delegation walk) that endorse's verifying index is
built on. Exit 0 when the verb succeeded fully, 1 otherwise (the protocol's
codes). ``scripts/tuf-conformance-client`` runs it from the repository's
``.venv``.
"""

from __future__ import annotations

import logging
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import click
from tuf.api import exceptions as tuf_errors
from tuf.ngclient import Updater
from tuf.ngclient.urllib3_fetcher import Urllib3Fetcher

from endorse.client.updater import USER_AGENT, updater_config
from endorse.client.view import RepositoryView

__all__ = ["main"]


@dataclass(frozen=True)
class Arguments:
    """The options every verb shares (the protocol puts them before the verb)."""

    metadata_dir: Path
    metadata_url: str | None
    target_names: tuple[str, ...]
    target_base_url: str | None
    target_dir: Path | None

    def view(self) -> RepositoryView:
        """A refreshed view of the repository (TUF §5.3-5.5)."""
        if self.metadata_url is None:
            raise click.UsageError("--metadata-url is needed")
        fetcher = Urllib3Fetcher(app_user_agent=USER_AGENT)
        config = updater_config()
        updater = Updater(
            str(self.metadata_dir),
            self.metadata_url,
            str(self.target_dir) if self.target_dir is not None else None,
            self.target_base_url,
            fetcher=fetcher,
            config=config,
            bootstrap=None,  # the trusted root in --metadata-dir
        )
        updater.refresh()
        return RepositoryView(
            updater,
            metadata_dir=self.metadata_dir,
            metadata_base_url=self.metadata_url,
            fetcher=fetcher,
            config=config,
        )


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--metadata-dir",
    required=True,
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Where the client keeps the metadata it trusts.",
)
@click.option("--metadata-url", help="Base URL of the repository's metadata.")
@click.option("--target-name", "target_names", multiple=True, help="A target path (repeatable).")
@click.option("--target-base-url", help="Base URL of the repository's targets.")
@click.option(
    "--target-dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Where verified targets are written.",
)
@click.option("-v", "--verbose", count=True, help="More logging (-vv for debug).")
@click.pass_context
def main(
    ctx: click.Context,
    metadata_dir: Path,
    metadata_url: str | None,
    target_names: tuple[str, ...],
    target_base_url: str | None,
    target_dir: Path | None,
    verbose: int,
) -> None:
    """The TUF conformance suite's client protocol, over endorse's verifying client.

    \b
    Example:
      python -m endorse.client.conformance --metadata-dir md init root.json
    """
    logging.basicConfig(level=(logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)])
    ctx.obj = Arguments(metadata_dir, metadata_url, target_names, target_base_url, target_dir)


@main.command()
@click.argument("trusted_root", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.pass_obj
def init(args: Arguments, trusted_root: Path) -> None:
    """Trust TRUSTED_ROOT (no request is made)."""
    shutil.copyfile(trusted_root, args.metadata_dir / "root.json")


@main.command()
@click.pass_obj
def refresh(args: Arguments) -> None:
    """Update the top-level metadata."""
    _exit_1_on_failure(args.view)


@main.command()
@click.pass_obj
def download(args: Arguments) -> None:
    """Find each --target-name through the delegations, in order, and download it."""
    target_dir = args.target_dir
    if not args.target_names or target_dir is None or args.target_base_url is None:
        raise click.UsageError("download needs --target-name, --target-base-url and --target-dir")

    def fetch_all() -> None:
        view = args.view()
        for name in args.target_names:
            found = view.find(name)
            if found.target is None:
                raise LookupError(f"{name} is not a target of this repository")
            path = target_dir / quote(name, safe="")
            if not view.cached(found.target, path):
                view.download(found.target, path)

    _exit_1_on_failure(fetch_all)


def _exit_1_on_failure(action: Callable[[], object]) -> None:
    try:
        action()
    except (tuf_errors.RepositoryError, tuf_errors.DownloadError, LookupError, OSError) as e:
        click.echo(f"endorse conformance client: {type(e).__name__}: {e}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
