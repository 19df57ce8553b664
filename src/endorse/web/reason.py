"""A refused request's message in the HTTP status line, where upload clients read it.

twine prints the status line of a failed upload (``400 File already exists …``)
and shows the body only with ``--verbose``; PyPI puts its message in the
reason phrase for that reason. ASGI has no field for a reason phrase, and
uvicorn always sends the standard one, so the app names the phrase in a
private response header, :data:`REASON_HEADER`, and :class:`ReasonPhraseProtocol`
(uvicorn's h11 protocol, given to ``uvicorn.Config(http=...)``) sends it as the
status line's reason and drops the header.
"""

from __future__ import annotations

from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["REASON_HEADER", "ReasonPhraseProtocol", "reason_phrase"]

#: Response header (lower case, as h11 gives it) carrying the reason phrase to send.
REASON_HEADER = b"x-endorse-reason"
_REASON_MAX = 600


def reason_phrase(text: str) -> str:
    """One line of latin-1 (what a status line can carry), at most 600 characters."""
    line = " ".join(text.split()).encode("latin-1", "replace").decode("latin-1")
    return line if len(line) <= _REASON_MAX else line[: _REASON_MAX - 3] + "..."


class _ReasonPhrases:
    """An h11 connection that sends a response's REASON_HEADER as its reason phrase."""

    def __init__(self, conn: h11.Connection) -> None:
        self._conn = conn

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)

    def send(self, event: h11.Event) -> bytes | None:
        if isinstance(event, h11.Response):
            reason = next((v for k, v in event.headers if k == REASON_HEADER), None)
            if reason is not None:
                headers = [(k, v) for k, v in event.headers if k != REASON_HEADER]
                event = h11.Response(status_code=event.status_code, headers=headers, reason=reason)
        return self._conn.send(event)


class ReasonPhraseProtocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol, with the app's reason phrases."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.conn = _ReasonPhrases(self.conn)  # type: ignore[assignment]
