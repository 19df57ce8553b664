"""Exit codes, and ending a process without the interpreter's teardown.

No rich here: ``endorse install`` imports this before it starts the installer.
"""

from __future__ import annotations

import logging
import os
import sys
from enum import IntEnum
from typing import NoReturn


class ExitCode(IntEnum):
    """Exit codes scripts can rely on."""

    OK = 0
    ERROR = 1
    USAGE = 2
    REFUSED = 3
    INTERRUPTED = 130


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
