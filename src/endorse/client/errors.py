"""The errors of the verifying client.

::

    EndorseError (endorse.errors)
    ├── VerificationFailed       metadata, a listing or a file failed a TUF check
    │   └── NoTrustedRoot        there is no root to start from (nothing to verify with)
    ├── PolicyNotMet             a file verified, but below what the client's policy demands
    └── UpstreamUnavailable      the index or mirror cannot be reached and nothing is cached

Each error names the project and file (when there is one), the check that
failed, and, in ``hint``, what the user can do. The python-tuf exception that
failed stays the ``__cause__``, so ``-vv`` logs name the exact check.
"""

from __future__ import annotations

from endorse.errors import EndorseError

__all__ = ["NoTrustedRoot", "PolicyNotMet", "UpstreamUnavailable", "VerificationFailed"]


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
