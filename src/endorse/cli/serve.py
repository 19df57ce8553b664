"""``endorse serve`` and ``endorse publisher``."""

from __future__ import annotations

import errno
import socket
from pathlib import Path

import click
import uvicorn
from rich.progress import Progress

from endorse.cli._console import data_dir_option, err, load_settings, setup_logging
from endorse.cli._exit import reports_errors
from endorse.errors import ConfigError
from endorse.services.demo import DemoSetup, ensure_repository
from endorse.services.index import Services
from endorse.services.publishing import publish_pending, publisher_process, run_publisher
from endorse.web import create_app
from endorse.web.pages import upload_command, verified_install_command
from endorse.web.reason import ReasonPhraseProtocol


@click.command()
@click.option("--host", default=None, help="Address to listen on [default 127.0.0.1].")
@click.option("--port", type=int, default=None, help="Port (0 picks a free one) [default 8080].")
@data_dir_option
@click.option(
    "--bins", "bin_count", type=int, default=None, help="Hashed bins at first start [16]."
)
@click.option("--no-publisher", is_flag=True, help="Leave publishing to `endorse publisher`.")
@click.option(
    "--unsigned",
    is_flag=True,
    help="Publish no TUF metadata (benchmark baseline only; nothing can be verified).",
)
@click.option("-v", "--verbose", count=True, help="More logging (-vv for debug).")
@reports_errors
def serve(
    host: str | None,
    port: int | None,
    data_dir: Path | None,
    bin_count: int | None,
    no_publisher: bool,
    unsigned: bool,
    verbose: int,
) -> None:
    """Run the index: upload API, Simple API and TUF metadata.

    On an empty data folder it first creates a demo repository with locally
    generated keys (not for production) and a demo upload token.

    \b
    Example:
      endorse serve --port 8080 --data-dir ./endorse-data
    """
    setup_logging(verbose, plain=True)
    settings = load_settings(
        host=host,
        port=port,
        data_dir=data_dir,
        bin_count=bin_count,
        tuf_enabled=False if unsigned else None,
        run_publisher=False if no_publisher else None,
    )
    sock = _listen(settings.host, settings.port)  # first: a taken port costs nothing
    services = Services.open(settings)
    setup = _demo_repository(services) if settings.tuf_enabled else None
    base = f"http://{settings.host}:{sock.getsockname()[1]}"
    _announce(setup, base)
    publication = (
        publisher_process(services, verbose=2 if verbose > 1 else 0)
        if settings.run_publisher
        else None
    )
    config = uvicorn.Config(
        create_app(services, publication),
        http=ReasonPhraseProtocol,
        log_level="warning" if verbose == 0 else "info",
        access_log=verbose > 1,
        timeout_graceful_shutdown=10,
    )
    uvicorn.Server(config).run(sockets=[sock])
    services.close()


def _demo_repository(services: Services) -> DemoSetup:
    """The repository, created with demo keys on an empty data folder (with progress)."""
    with Progress(console=err, transient=True) as progress:
        task = progress.add_task("signing hashed bins", total=services.settings.bin_count)
        return ensure_repository(
            services, lambda done, total: progress.update(task, completed=done, total=total)
        )


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (port 0: a free one)."""
    # IPPROTO_TCP explicitly: asyncio turns TCP_NODELAY on only for sockets that
    # say so, and without it every request on a kept-alive connection waits ~40 ms.
    sock = socket.socket(
        socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP
    )
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        taken = e.errno == errno.EADDRINUSE
        raise ConfigError(
            f"cannot listen on {host}:{port}: "
            + ("the port is in use" if taken else (e.strerror or str(e))),
            hint="stop the other process, or pick another port (--port 0 picks a free one)"
            if taken
            else "check --host (an address of this machine) and --port",
        ) from e
    # Listen before announcing the address: connections made before uvicorn has
    # started wait in the backlog instead of being refused.
    sock.listen(2048)
    return sock


def _announce(setup: DemoSetup | None, base: str) -> None:
    """What a person needs: demo credentials, the root's hash, the commands, the address."""
    if setup is not None and setup.created:
        err.print(
            "[bold yellow]DEMO repository created with keys generated on this machine: "
            "NOT FOR PRODUCTION[/] (see docs/operations.md)"
        )
    # Plain echo: commands must not be wrapped, people copy them.
    if setup is not None and setup.token:
        click.echo(f"demo upload credentials (also in {setup.credentials}):", err=True)
        click.echo(f"  {upload_command(base, setup.token)}", err=True)
    if setup is not None:
        click.echo(
            f"root metadata: {base}/tuf/metadata/root.json  sha256 {setup.root_sha256}", err=True
        )
        click.echo("install, verified by the endorse client (every file checked):", err=True)
        click.echo(f"  {verified_install_command(base, setup.root_sha256)}", err=True)
    click.echo("install, unverified (plain pip trusts whatever answers):", err=True)
    click.echo(f"  pip install --index-url {base}/simple/ PROJECT", err=True)
    # Tests and scripts read this line to find the port.
    print(f"endorse serving on {base}", flush=True)


@click.command()
@data_dir_option
@click.option("--once", is_flag=True, help="Publish what is pending, then exit.")
@click.option(
    "--supervised",
    is_flag=True,
    hidden=True,
    help="Run as the child of `endorse serve`: woken by lines on stdin, stopped at its "
    "end, reporting each batch on stdout.",
)
@click.option("-v", "--verbose", count=True, help="More logging (-vv for debug).")
@reports_errors
def publisher(data_dir: Path | None, once: bool, supervised: bool, verbose: int) -> None:
    """Run the publisher alone (for `endorse serve --no-publisher` deployments).

    Only one publisher publishes at a time (a leader lock); others stand by.

    \b
    Example:
      endorse publisher --data-dir ./endorse-data
    """
    setup_logging(verbose, plain=True)
    services = Services.open(load_settings(data_dir=data_dir))
    try:
        if once:
            publish_pending(services)
        else:
            run_publisher(services, supervised=supervised)
    finally:
        services.close()
