"""Every error endorse raises on purpose, in one tree.

::

    EndorseError                     base: message, hint; status 500 (the index's own fault)
    ├── UserError                    the request or command was wrong; a 4xx status, never 5xx
    │   ├── InvalidRequest      400  malformed, wrong-typed or out-of-range input
    │   │   ├── UploadRejected  400  an upload failed validation; nothing of it was stored
    │   │   │   └── ReleaseRejected  a signed release failed a check of PEP 480's project
    │   │   │                        transaction; nothing of it was stored
    │   │   ├── KeyAdditionInvalid   an add-key statement is malformed or does not verify
    │   │   ├── InvalidMaintainerMap a delegation's maintainer map is missing or inconsistent
    │   │   └── WeakPassphrase       a passphrase is below the bar for the key it protects
    │   ├── AuthenticationFailed 401 unknown user, wrong password, bad or revoked token
    │   ├── PermissionDenied    403  authenticated, but not allowed to do this
    │   │   └── ThresholdNotMet      fewer distinct maintainers signed than the threshold
    │   ├── NotFound            404  a project, file, key, event or role does not exist
    │   ├── MethodNotAllowed    405  a method the path does not take (an upload sent to /)
    │   ├── NotAcceptable       406  no media type the client accepts is offered (PEP 691)
    │   ├── Conflict            409  clashes with the index's state: already claimed, stale,
    │   │                            claimed project, open event, concurrent change
    │   └── TooLarge            413  a body, file or metadata over its limit
    ├── ConfigError                  a setting has a bad or missing value (the operator's)
    │   └── SchemaOutOfDate          the database is at an older schema than this endorse
    ├── StorageError                 a blob or database operation failed
    ├── KeyUnavailable               a signing key cannot be loaded or used
    ├── PublishError                 the publisher could not produce valid metadata
    ├── IndexUnavailable             an index answered a developer command with a 5xx
    ├── VerificationFailed           (client) metadata, a listing or a file failed a TUF check
    │   └── NoTrustedRoot            no root to start from, or it does not match the pin
    ├── PolicyNotMet                 (client) a file verified, but below the client's policy
    └── UpstreamUnavailable          (client) the upstream cannot be reached, nothing cached

Each face maps them in one place: ``web/errors.py`` (``status`` and the
message, with the hint, in the body) and ``cli/_exit.py`` (the exit code;
``cli/_console.py`` prints message and hint). Every error says what was wrong,
quoting the value, and ``hint`` says what to do next. Nothing here imports
anything: every module, down to the light ``endorse install``, may use it.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "AuthenticationFailed",
    "ConfigError",
    "Conflict",
    "EndorseError",
    "IndexUnavailable",
    "InvalidMaintainerMap",
    "InvalidRequest",
    "KeyAdditionInvalid",
    "KeyUnavailable",
    "MethodNotAllowed",
    "NoTrustedRoot",
    "NotAcceptable",
    "NotFound",
    "PermissionDenied",
    "PolicyNotMet",
    "PublishError",
    "ReleaseRejected",
    "SchemaOutOfDate",
    "StorageError",
    "ThresholdNotMet",
    "TooLarge",
    "UploadRejected",
    "UpstreamUnavailable",
    "UserError",
    "VerificationFailed",
    "WeakPassphrase",
    "error_for_status",
]


class EndorseError(Exception):
    """Base of every error endorse raises on purpose."""

    #: The HTTP status when a request caused it: 500, the index's own fault,
    #: unless a :class:`UserError` says otherwise.
    status: ClassVar[int] = 500

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UserError(EndorseError):
    """The request or the command was wrong, and the caller can put it right (a 4xx)."""

    status: ClassVar[int] = 400


class InvalidRequest(UserError):
    """Malformed, wrong-typed or out-of-range input."""

    status: ClassVar[int] = 400


class UploadRejected(InvalidRequest):
    """An upload failed validation; nothing of it was stored."""


class ReleaseRejected(UploadRejected):
    """A signed release failed one of PEP 480's checks; nothing of it was stored."""


class KeyAdditionInvalid(InvalidRequest):
    """An add-key statement is malformed or its signature does not verify."""


class InvalidMaintainerMap(InvalidRequest):
    """A delegation's maintainer map is missing or inconsistent with its keys."""


class WeakPassphrase(InvalidRequest):
    """A passphrase or password is below the bar for the key it would protect."""


class AuthenticationFailed(UserError):
    """Credentials were missing, unknown or wrong."""

    status: ClassVar[int] = 401


class PermissionDenied(UserError):
    """The caller is authenticated but may not do this."""

    status: ClassVar[int] = 403


class ThresholdNotMet(PermissionDenied):
    """Valid signatures came from fewer distinct maintainers than the threshold."""

    def __init__(
        self, message: str, *, maintainers: set[str], threshold: int, hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        #: The maintainers whose signatures did verify.
        self.maintainers = maintainers
        self.threshold = threshold


class NotFound(UserError):
    """A project, file, key, signing event or role does not exist."""

    status: ClassVar[int] = 404


class MethodNotAllowed(UserError):
    """The path exists, but not for this method (a twine upload sent to the front page)."""

    status: ClassVar[int] = 405


class NotAcceptable(UserError):
    """None of the media types the client accepts is offered (PEP 691 negotiation)."""

    status: ClassVar[int] = 406


class Conflict(UserError):
    """The request clashes with the index's current state."""

    status: ClassVar[int] = 409


class TooLarge(UserError):
    """A request body, a file or a metadata document is over its limit."""

    status: ClassVar[int] = 413


class ConfigError(EndorseError):
    """A setting has a bad or missing value."""


class SchemaOutOfDate(ConfigError):
    """The database schema is older than this endorse expects (``endorse admin migrate``)."""


class StorageError(EndorseError):
    """A blob store or database operation failed."""


class KeyUnavailable(EndorseError):
    """A signing key cannot be loaded or used."""


class PublishError(EndorseError):
    """The publisher could not produce valid metadata."""


class IndexUnavailable(EndorseError):
    """An index answered a developer command with a server error."""


class VerificationFailed(EndorseError):
    """Something the index (or a mirror, or the network) sent failed verification."""

    def __init__(
        self,
        message: str,
        *,
        check: str,
        project: str | None = None,
        filename: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        #: The check that failed, in words ("length and hash", "signature", "version").
        self.check = check
        self.project = project
        self.filename = filename


class NoTrustedRoot(VerificationFailed):
    """No root metadata to start from, or the one offered does not match the pin."""


class PolicyNotMet(EndorseError):
    """A file verified, but its trust level is below what the client's policy demands."""

    def __init__(
        self,
        message: str,
        *,
        project: str,
        filename: str,
        rule: str,
        level: int,
        required: int,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.project = project
        self.filename = filename
        #: The rule that refused the file, as the user wrote it ("--min-trust 3",
        #: "client.toml [projects.requests] min-trust = 3").
        self.rule = rule
        self.level = level
        self.required = required


class UpstreamUnavailable(EndorseError):
    """The upstream index or mirror cannot be reached, and the cache cannot answer."""


_STATUS_CLASSES: tuple[type[UserError], ...] = (
    InvalidRequest,
    AuthenticationFailed,
    PermissionDenied,
    NotFound,
    MethodNotAllowed,
    NotAcceptable,
    Conflict,
    TooLarge,
)
_BY_STATUS = {cls.status: cls for cls in _STATUS_CLASSES}


def error_for_status(status: int, message: str, hint: str | None = None) -> EndorseError:
    """The error an index's answer stands for, by its HTTP status (the client side of
    ``web/errors.py``): a 4xx is the user error of that status, anything else
    :class:`IndexUnavailable`."""
    if status in _BY_STATUS:
        return _BY_STATUS[status](message, hint=hint)
    if 400 <= status < 500:
        return InvalidRequest(message, hint=hint)
    return IndexUnavailable(f"the index answered {status}: {message}", hint=hint)
