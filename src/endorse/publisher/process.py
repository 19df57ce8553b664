"""The publisher of ``endorse serve`` as a child process, and its two pipes.

Why a process and not a thread: signing and serialising metadata is Python
work that holds the GIL. In a thread of the server it took turns with the
upload and Simple API handlers, so on a two-core machine the second core sat
idle while uploads waited for their batch. In its own process it uses that
core (``benchmarks/bench_upload.py``: docs/performance.md).

The child is ``python -m endorse publisher --supervised`` with the server's
settings in its environment. Its standard streams are the control channel:

* a line on its **stdin** wakes it (an upload was accepted), and end of file
  stops it after the batch it is in, also when the server was killed, so a
  publisher never outlives its server;
* it writes a line on its **stdout** after each published batch, which wakes
  the upload requests waiting for their file to be published.

The leader lock, the batch order and crash safety are the publisher's own, as
for ``endorse publisher`` run by hand; the server restarts a child that died.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import IO

from endorse.publisher.lock import LeaderLock
from endorse.publisher.publisher import BatchResult, Publisher
from endorse.settings import Settings

__all__ = ["PublisherProcess", "follow_parent", "report_batch", "run_until_stopped"]

logger = logging.getLogger(__name__)

#: Longest wait before restarting a publisher that keeps dying.
MAX_RESTART_DELAY = 30.0
#: A child that ran this long before dying is restarted at once.
HEALTHY_RUN = 60.0


class PublisherProcess:
    """Runs, wakes, restarts and stops the server's publisher process."""

    def __init__(self, settings: Settings, *, verbose: int = 0) -> None:
        #: Set by :meth:`wake`; forwarded to the child as one line.
        self._wake = threading.Event()
        self.on_batch: Callable[[], None] = _nothing
        self.command = [sys.executable, "-m", "endorse", "publisher", "--supervised"]
        if verbose:
            self.command.append("-" + "v" * verbose)
        self._env = {**os.environ, **settings.to_env()}
        self._stopping = threading.Event()
        self._stdin_lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._threads: list[threading.Thread] = []

    def start(self, on_batch: Callable[[], None]) -> None:
        """Start the child, and the threads that supervise and wake it; ``on_batch``
        is called (from a thread of its own) after each batch the child publishes."""
        self.on_batch = on_batch
        for target, name in (
            (self._supervise, "endorse-publisher-supervisor"),
            (self._forward_wakes, "endorse-publisher-wake"),
        ):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def wake(self) -> None:
        """Tell the child there is something to publish (an upload was accepted)."""
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        """Let the child finish its batch and exit; kill it after ``timeout`` seconds."""
        self._stopping.set()
        self._wake.set()
        process = self._process
        if process is not None:
            self._close_stdin(process)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                logger.error("publisher process %d did not stop: killing it", process.pid)
                process.kill()
                process.wait()
        for thread in self._threads:
            thread.join(timeout=5)

    def _supervise(self) -> None:
        delay = 1.0
        while not self._stopping.is_set():
            started = time.monotonic()
            # A session of its own: Ctrl-C on the server must not stop the child
            # before the server does (it would be restarted); it stops at EOF.
            process = subprocess.Popen(
                self.command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=self._env,
                start_new_session=True,
            )
            self._process = process
            logger.info("publisher process %d started", process.pid)
            if self._stopping.is_set():  # stop() ran before _process was set
                self._close_stdin(process)
            assert process.stdout is not None  # noqa: S101 - opened as a pipe above
            for _line in process.stdout:
                self.on_batch()
            returncode = process.wait()
            if self._stopping.is_set():
                logger.info("publisher process %d stopped", process.pid)
                return
            delay = 1.0 if time.monotonic() - started > HEALTHY_RUN else delay
            logger.error(
                "publisher process %d exited with code %d; restarting it in %.0f s",
                process.pid,
                returncode,
                delay,
            )
            self._stopping.wait(delay)
            delay = min(delay * 2, MAX_RESTART_DELAY)

    def _forward_wakes(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            if self._stopping.is_set():
                return
            process = self._process
            if process is None or process.stdin is None:
                continue
            # OSError, ValueError: the child is gone or stopping; the supervisor sees to it.
            with self._stdin_lock, contextlib.suppress(OSError, ValueError):
                process.stdin.write(b"\n")
                process.stdin.flush()

    def _close_stdin(self, process: subprocess.Popen[bytes]) -> None:
        with self._stdin_lock:
            if process.stdin is not None:
                with contextlib.suppress(OSError):
                    process.stdin.close()


def _nothing() -> None:
    pass


def follow_parent(stop: threading.Event, wake: threading.Event, stdin: IO[bytes]) -> None:
    """In the child: wake on each line of ``stdin``; stop at its end (in a thread)."""

    def read() -> None:
        for _line in stdin:
            wake.set()
        stop.set()
        wake.set()

    threading.Thread(target=read, name="endorse-parent", daemon=True).start()


def report_batch(stdout: IO[bytes], stop: threading.Event) -> Callable[[BatchResult], None]:
    """In the child: the ``on_batch`` callback that tells the parent."""

    def report(result: BatchResult) -> None:
        try:
            stdout.write(f"batch {result.batch_id}\n".encode())
            stdout.flush()
        except OSError:
            stop.set()  # the parent is gone

    return report


def run_until_stopped(
    publisher: Publisher,
    lock: LeaderLock,
    *,
    supervised: bool,
    prune: Callable[[], object],
) -> None:
    """Run ``publisher`` as the only one until SIGTERM or SIGINT, and, ``supervised``
    (the child of ``endorse serve``), until the end of its stdin, waking on each
    line and reporting each batch on its stdout."""
    stop = threading.Event()
    wake: threading.Event | None = None
    if supervised:
        wake = threading.Event()
        follow_parent(stop, wake, sys.stdin.buffer)
        publisher.on_batch = report_batch(sys.stdout.buffer, stop)

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    publisher.run(lock, stop, wake, prune=prune)
