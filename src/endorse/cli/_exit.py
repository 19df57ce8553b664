"""How every command ends: its exit code, and the one place errors become them.

No rich here: ``endorse install`` imports this before it starts the installer;
:func:`report` imports :func:`endorse.cli._console.print_error` only when there
is an error to print.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
from collections.abc import Callable
from enum import IntEnum
from typing import NoReturn, ParamSpec, TypeVar

from endorse.errors import ConfigError, EndorseError, PolicyNotMet, VerificationFailed

__all__ = ["ExitCode", "exit_code_for", "exit_now", "report", "reports_errors"]

P = ParamSpec("P")
R = TypeVar("R")


class ExitCode(IntEnum):
    """Exit codes scripts can rely on."""

    OK = 0
    ERROR = 1
    USAGE = 2
    REFUSED = 3
    INTERRUPTED = 130


def exit_code_for(error: EndorseError) -> ExitCode:
    """3 when endorse refused something for security, 2 for a bad option or setting, else 1."""
    if isinstance(error, VerificationFailed | PolicyNotMet):
        return ExitCode.REFUSED
    if isinstance(error, ConfigError):
        return ExitCode.USAGE
    return ExitCode.ERROR


def report(error: EndorseError) -> None:
    """Print an error's message and hint (rich is imported only now)."""
    from endorse.cli._console import print_error

    print_error(error, refused=exit_code_for(error) is ExitCode.REFUSED)


def reports_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn an EndorseError into its message, hint and exit code; Ctrl-C into 130."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except EndorseError as e:
            report(e)
            raise SystemExit(exit_code_for(e)) from None
        except KeyboardInterrupt:
            from endorse.cli._console import err

            err.print("interrupted")
            raise SystemExit(ExitCode.INTERRUPTED) from None

    return wrapper


def exit_now(code: int) -> NoReturn:
    """End the process with ``code`` once the output is out, skipping teardown.

    For a command that has finished its work and closed its files: the
    interpreter's teardown of python-tuf, securesystemslib and boto3 (which
    securesystemslib imports) takes 60-90 ms, 5-8 % of an ``endorse install``.
    ``atexit`` handlers do not run; logging is shut down and the standard
    streams are flushed here.
    """
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
