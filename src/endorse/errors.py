"""The errors endorse raises on purpose.

::

    EndorseError                 base; carries a ``hint`` (what the user can do next)
    ├── ConfigError              a setting has a bad or missing value
    ├── StorageError             a blob or database operation failed
    ├── AuthenticationFailed     unknown user, wrong password, bad or revoked token
    ├── PermissionDenied         authenticated, but not allowed to do this
    ├── UploadRejected           an upload failed validation (``status`` is the HTTP code)
    ├── NotFound                 a project, file or role does not exist
    ├── KeyUnavailable           a signing key cannot be loaded or used
    └── PublishError             the publisher could not produce valid metadata
"""

from __future__ import annotations


class EndorseError(Exception):
    """Base of every error endorse raises on purpose."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class ConfigError(EndorseError):
    """A setting has a bad or missing value."""


class StorageError(EndorseError):
    """A blob store or database operation failed."""


class AuthenticationFailed(EndorseError):
    """Credentials were missing, unknown or wrong."""


class PermissionDenied(EndorseError):
    """The caller is authenticated but may not do this."""


class UploadRejected(EndorseError):
    """An upload failed validation; nothing of it was stored."""

    def __init__(self, message: str, *, status: int = 400, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status


class NotFound(EndorseError):
    """A project, file or role does not exist."""


class KeyUnavailable(EndorseError):
    """A signing key cannot be loaded or used."""


class PublishError(EndorseError):
    """The publisher could not produce valid metadata."""
