"""The ``endorse`` command: the index (serve, publisher, admin), the developer
commands (key, claim, upload, sign), the verifying client (proxy, install,
verify) and the research (evaluate).

Command modules are imported only when their command runs, so that a quick
command such as ``endorse install`` does not pay for the admin face's imports.
"""

from __future__ import annotations

import importlib

import click

from endorse import __version__

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

#: Command name -> "module:attribute" of the click command.
COMMANDS = {
    "serve": "endorse.cli.serve:serve",
    "publisher": "endorse.cli.serve:publisher",
    "admin": "endorse.cli.admin:admin",
    "key": "endorse.cli.dev:key",
    "claim": "endorse.cli.dev:claim",
    "project": "endorse.cli.dev:project",
    "upload": "endorse.cli.dev:upload",
    "sign": "endorse.cli.dev:sign",
    "proxy": "endorse.cli.client:proxy",
    "install": "endorse.cli.install:install",
    "verify": "endorse.cli.client:verify",
    "evaluate": "endorse.cli.evaluate:evaluate",
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every command name, sorted."""
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """Import and return one command."""
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, _, attribute = target.partition(":")
        command = getattr(importlib.import_module(module), attribute)
        assert isinstance(command, click.Command)  # noqa: S101 - the table names commands
        return command


@click.group(cls=LazyGroup, context_settings=CONTEXT)
@click.version_option(__version__, prog_name="endorse")
def main() -> None:
    """endorse: an end-to-end signed Python package index (PEP 458 and PEP 480).

    \b
    Example:
      endorse serve                 start the index on ./endorse-data
    """


__all__ = ["main"]
