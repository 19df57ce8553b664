"""EndorseError -> HTTP, in one place: the status its class names, the message in the body.

The body is the message and, when there is one, a ``Hint:`` line; the
developer commands show it (``developer/client.py`` reads it back into the
same error class, by status). The message is also the status line's reason
phrase (:mod:`endorse.web.reason`), which twine prints without ``--verbose``.
A user error is a 4xx by construction (:class:`~endorse.errors.UserError`); anything else is the
index's fault, a 500, and logged with its traceback.
"""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from endorse.errors import (
    AuthenticationFailed,
    EndorseError,
    MethodNotAllowed,
    NotFound,
    UserError,
    error_for_status,
)
from endorse.web.reason import REASON_HEADER, reason_phrase

logger = logging.getLogger(__name__)

__all__ = ["error_response", "handle_endorse_error", "handle_http_exception"]


def error_response(error: EndorseError) -> Response:
    """A plain-text answer that upload clients such as twine show to the user."""
    text = error.message if not error.hint else f"{error.message}\nHint: {error.hint}"
    headers = {REASON_HEADER.decode(): reason_phrase(error.message)}
    if isinstance(error, AuthenticationFailed):
        headers["WWW-Authenticate"] = 'Basic realm="endorse"'
    return PlainTextResponse(text + "\n", status_code=error.status, headers=headers)


async def handle_endorse_error(_request: Request, exc: Exception) -> Response:
    """Starlette exception handler for EndorseError."""
    assert isinstance(exc, EndorseError)  # noqa: S101 - registered for this type only
    if isinstance(exc, UserError):
        logger.info("refused: %s", exc.message)
    else:
        logger.error("request failed: %s", exc.message, exc_info=exc)
    return error_response(exc)


async def handle_http_exception(request: Request, exc: Exception) -> Response:
    """Starlette's own 404 and 405 (no route, or not for this method), said like ours."""
    assert isinstance(exc, HTTPException)  # noqa: S101 - registered for this type only
    path = request.url.path
    error: EndorseError
    if exc.status_code == MethodNotAllowed.status:
        hint = None
        if request.method == "POST":
            hint = f"upload with twine to {request.base_url}legacy/ (the upload URL)"
        error = MethodNotAllowed(f"{request.method} is not allowed on {path}", hint=hint)
    elif exc.status_code == NotFound.status:
        error = NotFound(f"nothing at {path}")
    else:
        error = error_for_status(exc.status_code, str(exc.detail))
    response = error_response(error)
    if exc.headers:
        response.headers.update(exc.headers)
    return response
