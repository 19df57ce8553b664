"""``endorse install``: pip or uv through the verifying proxy, with each file's trust shown.

This module imports nothing heavy: the installer starts before endorse
imports its verifying side, rich and python-tuf (see
:func:`endorse.client.install.run_install`). Logging is set up then too.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from endorse.cli._exit import ExitCode, exit_now, reports_errors
from endorse.cli.client_options import ClientOptions, client_options
from endorse.client.install import Installer, run_install

if TYPE_CHECKING:
    from endorse.client.proxy import ProxyApp


@click.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@client_options(set_up_logging=False)
@click.option(
    "--installer",
    type=click.Choice(["pip", "uv"]),
    default="pip",
    show_default=True,
    help="Run `pip install` or `uv pip install`.",
)
@click.option(
    "--python",
    metavar="PYTHON",
    help="Install into this interpreter or virtual environment [default: the active "
    "virtual environment (VIRTUAL_ENV), else python3 on PATH].",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable report on stdout.")
@click.argument("installer_args", nargs=-1, type=click.UNPROCESSED)
@reports_errors
def install(
    opts: ClientOptions,
    installer: Installer,
    python: str | None,
    as_json: bool,
    installer_args: tuple[str, ...],
) -> None:
    """Install with pip (or uv) from the index, only what verifies.

    Every argument after endorse's own options goes to the installer
    unchanged (put `--` first if one looks like an endorse option). It
    installs where pip and uv would: into the active virtual environment,
    else the python3 on PATH, or where --python says. The trust level of
    each file installed is printed at the end.

    \b
    Example (the root's sha256 is printed by `endorse serve`):
      endorse install --index https://index.example.org --root-sha256 HEX -r requirements.txt
      endorse install --installer uv --require-developer-signed requests -- requests
    """

    def open_app() -> ProxyApp:
        # Runs while the installer starts up; nothing is served before it returns.
        from endorse.cli._console import setup_logging
        from endorse.cli.client import announce, refresh
        from endorse.client.proxy import ProxyApp

        setup_logging(opts.verbose)
        policy = opts.policy()
        index = opts.verified_index(refresh_interval=3600.0)
        announce(opts, index)
        if not opts.unsafe:
            refresh(index)
        return ProxyApp(index, policy, unsafe=opts.unsafe, log_refusals=False)

    result = run_install(
        open_app,
        installer,
        installer_args,
        unsafe=opts.unsafe,
        python=python,
        stdout=sys.stderr if as_json else None,
    )
    from endorse.cli.client import report_install

    report_install(result, as_json=as_json, unsafe=opts.unsafe)
    exit_now(ExitCode.REFUSED if result.returncode != 0 and result.refused else result.returncode)
