"""The errors of the verifying client, defined in the one tree of :mod:`endorse.errors`.

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

from endorse.errors import NoTrustedRoot, PolicyNotMet, UpstreamUnavailable, VerificationFailed

__all__ = ["NoTrustedRoot", "PolicyNotMet", "UpstreamUnavailable", "VerificationFailed"]
