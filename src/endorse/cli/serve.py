"""``endorse serve`` and ``endorse publisher``."""

from __future__ import annotations

import signal
import socket
import sys
import threading
from datetime import timedelta
from pathlib import Path
from types import FrameType

import click
import uvicorn
from rich.progress import Progress

from endorse.cli._console import data_dir_option, err, load_settings, reports_errors, setup_logging
from endorse.errors import EndorseError
from endorse.publisher.lock import leader_lock
from endorse.publisher.process import follow_parent, report_batch
from endorse.publisher.prune import prune
from endorse.publisher.publisher import Publisher
from endorse.services.demo import ensure_repository
from endorse.services.index import Services
from endorse.web import create_app


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
    services = Services.open(settings)
    setup = None
    if settings.tuf_enabled:
        with Progress(console=err, transient=True) as progress:
            task = progress.add_task("signing hashed bins", total=settings.bin_count)
            setup = ensure_repository(
                services, lambda done, total: progress.update(task, completed=done, total=total)
            )
    # IPPROTO_TCP explicitly: asyncio turns TCP_NODELAY on only for sockets that
    # say so, and without it every request on a kept-alive connection waits ~40 ms.
    sock = socket.socket(
        socket.AF_INET6 if ":" in settings.host else socket.AF_INET,
        socket.SOCK_STREAM,
        socket.IPPROTO_TCP,
    )
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((settings.host, settings.port))
    # Listen before announcing the address: connections made before uvicorn has
    # started wait in the backlog instead of being refused.
    sock.listen(2048)
    bound_port = sock.getsockname()[1]
    base = f"http://{settings.host}:{bound_port}"
    if setup is not None and setup.created:
        err.print(
            "[bold yellow]DEMO repository created with keys generated on this machine: "
            "NOT FOR PRODUCTION[/] (see docs/operations.md)"
        )
    # Plain echo: commands must not be wrapped, people copy them.
    if setup is not None and setup.token:
        click.echo(f"demo upload credentials (also in {setup.credentials}):", err=True)
        click.echo(
            f"  twine upload --repository-url {base}/legacy/ -u __token__ -p {setup.token} dist/*",
            err=True,
        )
    if setup is not None:
        click.echo(
            f"root metadata: {base}/tuf/metadata/root.json  sha256 {setup.root_sha256}", err=True
        )
    click.echo(f"install with:  pip install --index-url {base}/simple/ PROJECT", err=True)
    # Tests and scripts read this line to find the port.
    print(f"endorse serving on {base}", flush=True)
    config = uvicorn.Config(
        create_app(services),
        log_level="warning" if verbose == 0 else "info",
        access_log=verbose > 1,
        timeout_graceful_shutdown=10,
    )
    uvicorn.Server(config).run(sockets=[sock])
    services.close()


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
    settings = load_settings(data_dir=data_dir)
    services = Services.open(settings)
    keyring = services.online_keyring() if settings.tuf_enabled else None
    stop = threading.Event()
    wake: threading.Event | None = None
    on_batch = None
    if supervised:
        wake = threading.Event()
        follow_parent(stop, wake, sys.stdin.buffer)
        on_batch = report_batch(sys.stdout.buffer, stop)
    worker = Publisher(settings, services.db, services.store, keyring, on_batch=on_batch)
    lock = leader_lock(services.db, settings.data_dir)
    if once:
        if not lock.try_acquire():
            raise EndorseError("another publisher is running", hint="it publishes what is pending")
        try:
            while worker.publish_once() is not None:
                pass
        finally:
            lock.release()
        return

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    grace = timedelta(seconds=settings.prune_grace)
    worker.run(
        lock,
        stop,
        wake,
        prune=lambda: prune(services.store, services.db, grace),
    )
    services.close()
