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


#: Commands that need an extra beyond the client's dependencies, and which.
EXTRA_OF = {
    "serve": "server",
    "publisher": "server",
    "admin": "server",
    "evaluate": "research",
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
        try:
            command = getattr(importlib.import_module(module), attribute)
        except ModuleNotFoundError as e:
            extra = EXTRA_OF.get(cmd_name)
            if extra is None or (e.name or "").startswith("endorse"):
                raise
            return _needs_extra(cmd_name, extra, e.name or "?")
        assert isinstance(command, click.Command)  # noqa: S101 - the table names commands
        return command


def _needs_extra(name: str, extra: str, missing: str) -> click.Command:
    """A command standing in for one whose dependencies this installation lacks."""

    def explain() -> None:
        click.echo(
            f"error: `endorse {name}` needs the {extra!r} extra, which this installation "
            f"lacks ({missing} is not installed)\nhint: pip install 'endorse[{extra}]' "
            f"(the client and developer commands work without it)",
            err=True,
        )
        raise SystemExit(2)

    return click.Command(
        name,
        callback=explain,
        help=f"(needs `pip install 'endorse[{extra}]'`)",
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    )


@click.group(cls=LazyGroup, context_settings=CONTEXT)
@click.version_option(__version__, prog_name="endorse")
def main() -> None:
    """endorse: an end-to-end signed Python package index (PEP 458 and PEP 480).

    \b
    Example:
      endorse serve                 start the index on ./endorse-data
    """


__all__ = ["main"]
