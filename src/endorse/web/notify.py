"""Wake upload requests waiting for their file to be published."""

from __future__ import annotations

import asyncio
import contextlib


class PublishNotifier:
    """Bridges the publisher thread to the event loop that serves requests."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._event: asyncio.Event | None = None

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Bind to the serving loop (called from the app's lifespan)."""
        self._loop = loop
        self._event = asyncio.Event()

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
        event = self._event
        if event is None:
            await asyncio.sleep(timeout)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)
