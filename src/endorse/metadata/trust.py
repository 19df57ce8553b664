"""Trust levels (DESIGN rule 8): how far a file can be trusted, and why."""

from __future__ import annotations

from enum import IntEnum
from typing import Any

#: Key in a target's ``custom`` where the index records the upload's trust level.
TRUST_CUSTOM_KEY = "trust"


class TrustLevel(IntEnum):
    """How a file earned its place in the signed metadata."""

    INDEX_SIGNED = 1
    """Signed by the index; uploaded with a password (PEP 458)."""
    INDEX_SIGNED_STRONG_AUTH = 2
    """Signed by the index; uploaded with a second factor or a project-scoped token."""
    DEVELOPER_SIGNED = 3
    """Signed by the project's own developers (PEP 480)."""
    DEVELOPER_SIGNED_REBUILT = 4
    """Developer-signed, and rebuilt from source by the index to the same bytes (ITE-2)."""

    @property
    def label(self) -> str:
        """A short human name for the level."""
        return _LABELS[self]

    @property
    def explanation(self) -> str:
        """One sentence on what the level protects against."""
        return _EXPLANATIONS[self]


_LABELS = {
    TrustLevel.INDEX_SIGNED: "index-signed",
    TrustLevel.INDEX_SIGNED_STRONG_AUTH: "index-signed, strong upload auth",
    TrustLevel.DEVELOPER_SIGNED: "developer-signed",
    TrustLevel.DEVELOPER_SIGNED_REBUILT: "developer-signed, independently rebuilt",
}

_EXPLANATIONS = {
    TrustLevel.INDEX_SIGNED: (
        "the index signed it (protects against mirrors and the network, "
        "not against a compromised index); uploaded with a password"
    ),
    TrustLevel.INDEX_SIGNED_STRONG_AUTH: (
        "the index signed it; uploaded with a project-scoped token or a second factor"
    ),
    TrustLevel.DEVELOPER_SIGNED: (
        "the project's developers signed it: a compromised index cannot replace it"
    ),
    TrustLevel.DEVELOPER_SIGNED_REBUILT: (
        "developer-signed, and the index rebuilt it from source to the same bytes"
    ),
}


def trust_custom(level: TrustLevel) -> dict[str, Any]:
    """The ``custom`` field the index puts on a target it signs."""
    return {TRUST_CUSTOM_KEY: int(level)}


def trust_from_custom(custom: dict[str, Any] | None) -> TrustLevel | None:
    """The trust level recorded in a target's ``custom``, if any."""
    if not custom or TRUST_CUSTOM_KEY not in custom:
        return None
    try:
        return TrustLevel(int(custom[TRUST_CUSTOM_KEY]))
    except (TypeError, ValueError):
        return None
