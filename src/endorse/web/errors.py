"""EndorseError -> HTTP, in one place."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from endorse.errors import (
    AuthenticationFailed,
    EndorseError,
    NotFound,
    PermissionDenied,
    UploadRejected,
)

logger = logging.getLogger(__name__)


def status_for(error: EndorseError) -> int:
    """The HTTP status of an error."""
    if isinstance(error, UploadRejected):
        return error.status
    if isinstance(error, AuthenticationFailed):
        return 401
    if isinstance(error, PermissionDenied):
        return 403
    if isinstance(error, NotFound):
        return 404
    return 500


def error_response(error: EndorseError) -> Response:
    """A plain-text answer that upload clients such as twine show to the user."""
    status = status_for(error)
    text = error.message if not error.hint else f"{error.message}\nHint: {error.hint}"
    headers = {"WWW-Authenticate": 'Basic realm="endorse"'} if status == 401 else None
    return PlainTextResponse(text + "\n", status_code=status, headers=headers)


async def handle_endorse_error(_request: Request, exc: Exception) -> Response:
    """Starlette exception handler for EndorseError."""
    assert isinstance(exc, EndorseError)  # noqa: S101 - registered for this type only
    if status_for(exc) >= 500:
        logger.error("request failed: %s", exc.message, exc_info=exc)
    return error_response(exc)
