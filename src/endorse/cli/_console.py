"""Console, logging and error rendering for every command."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import click
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape

from endorse.errors import EndorseError
from endorse.settings import Settings

__all__ = [
    "data_dir_option",
    "err",
    "load_settings",
    "out",
    "print_error",
    "read_secret",
    "setup_logging",
]

P = ParamSpec("P")
R = TypeVar("R")

#: Results go to stdout; progress, logs and errors to stderr.
out = Console(soft_wrap=True)
err = Console(stderr=True)


def setup_logging(verbose: int, *, plain: bool = False) -> None:
    """Log to stderr: rich for people, plain lines for services (``plain``)."""
    level = (
        logging.DEBUG if verbose > 1 else logging.INFO if verbose == 1 or plain else logging.WARNING
    )
    handler: logging.Handler
    if plain:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    else:
        handler = RichHandler(console=err, show_path=False)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    logging.getLogger("endorse").setLevel(level)


def print_error(error: EndorseError, *, refused: bool) -> None:
    """An error's message and hint on stderr: ``endorse:`` for a refusal, else ``error:``."""
    label = "endorse" if refused else "error"
    err.print(f"[bold red]{label}:[/] {escape(error.message)}", highlight=False)
    if error.hint:
        err.print(f"[bold]hint:[/] {escape(error.hint)}", highlight=False)
    logging.getLogger(__name__).debug("traceback", exc_info=True)


def data_dir_option(func: Callable[P, R]) -> Callable[P, R]:
    """``--data-dir``, shared by every command that opens the index's state."""
    return click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Folder of the index's state [env ENDORSE_DATA_DIR; default ./endorse-data].",
    )(func)


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment, with command-line values on top."""
    return Settings.from_env(os.environ, **overrides)


def read_secret(prompt: str, *, from_stdin: bool, confirm: bool = False) -> str:
    """A password from stdin (automation) or an echo-free prompt."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    value: str = click.prompt(prompt, hide_input=True, confirmation_prompt=confirm, err=True)
    return value
