"""Wake upload requests waiting for their file to be published."""

from __future__ import annotations

import asyncio
import contextlib


class PublishNotifier:
    """Bridges the publisher (another thread or process) to the event loop serving requests."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._event: asyncio.Event | None = None

    def notify(self) -> None:
        """Called from any thread after a batch is published."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._bump)

    def _bump(self) -> None:
        if self._event is not None:
            self._event.set()
        self._event = asyncio.Event()

    async def wait(self, timeout: float) -> None:
        """Return after the next batch, or after ``timeout`` seconds."""
        if self._loop is None:
            # The first waiter binds the notifier to the loop that serves requests.
            self._loop = asyncio.get_running_loop()
            self._event = asyncio.Event()
        event = self._event
        assert event is not None  # noqa: S101 - set with the loop just above
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)
