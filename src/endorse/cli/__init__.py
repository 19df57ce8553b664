"""The ``endorse`` command: the index (serve, publisher, admin), the developer
commands (key, claim, upload, sign) and the research (evaluate)."""

from __future__ import annotations

import click

from endorse import __version__
from endorse.cli.admin import admin
from endorse.cli.client import install, proxy, verify
from endorse.cli.dev import claim, sign, upload
from endorse.cli.evaluate import evaluate
from endorse.cli.key import key
from endorse.cli.serve import publisher, serve

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, prog_name="endorse")
def main() -> None:
    """endorse: an end-to-end signed Python package index (PEP 458 and PEP 480).

    \b
    Example:
      endorse serve                 start the index on ./endorse-data
    """


main.add_command(serve)
main.add_command(publisher)
main.add_command(admin)
main.add_command(key)
main.add_command(claim)
main.add_command(upload)
main.add_command(sign)
main.add_command(evaluate)
main.add_command(proxy)
main.add_command(install)
main.add_command(verify)

__all__ = ["main"]
