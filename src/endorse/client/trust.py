"""How far the client trusts one verified file, and why (DESIGN rule 8).

The index writes a level into each target it signs (``custom.trust``: 1 or 2),
but only the place in the role tree where ngclient found the file decides
whether it is developer-signed: a target under a project role of ``claimed``
or ``recently-claimed`` is level 3 whatever its ``custom`` says, and a
target in a bin is at most level 2 whatever its ``custom`` says, because the
online key that signs bins cannot vouch for a developer's signature. Level 4
(independently rebuilt, ITE-2) needs an in-toto attestation the client does
not check yet, so the client never shows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from endorse.metadata.trust import TrustLevel, trust_from_custom

__all__ = ["FileTrust", "Source", "TrustLevel", "index_signed_trust"]


class Source(Enum):
    """Which branch of the role tree signed a project's files."""

    INDEX_SIGNED = "index-signed"
    """A hashed bin under ``unclaimed``, signed with an online key (PEP 458)."""
    RECENTLY_CLAIMED = "recently-claimed"
    """A project role delegated by ``recently-claimed`` (online key) to the developers."""
    CLAIMED = "claimed"
    """A project role delegated by ``claimed`` (offline keys) to the developers (PEP 480)."""

    @property
    def meaning(self) -> str:
        """What a file signed in this branch is protected against, in one line."""
        return _MEANING[self]


_MEANING = {
    Source.INDEX_SIGNED: "not protected against a compromised index",
    Source.RECENTLY_CLAIMED: "recently claimed: not yet protected against an index compromise "
    "(its delegation is signed online until the next signing event)",
    Source.CLAIMED: "delegated by the offline-signed claimed role; a compromised index "
    "cannot replace it",
}


@dataclass(frozen=True)
class FileTrust:
    """The trust level of a verified file, the role that signed it, and why."""

    level: TrustLevel
    source: Source
    #: The role whose signed metadata lists the file (``bin-0a``, ``p-requests``).
    role: str
    #: Who signed it, briefly: ``role p-requests, 2 of 3 maintainers (a, b)``.
    signed_by: str
    #: Anything unusual about this file (a level its metadata claims but cannot have).
    note: str = ""

    @property
    def label(self) -> str:
        """The level's short name, with the recently-claimed caveat."""
        if self.source is Source.RECENTLY_CLAIMED:
            return f"{self.level.label} (recently claimed)"
        return self.level.label

    @property
    def reason(self) -> str:
        """One line a person can read: who signed, and what that protects against."""
        prefix = "signed by " if self.source is Source.INDEX_SIGNED else "developer-signed: "
        return f"{prefix}{self.signed_by}; {self.source.meaning}{self.note}"

    def to_json(self) -> dict[str, Any]:
        """The trust fields of the JSON output."""
        return {
            "trust": int(self.level),
            "label": self.label,
            "source": self.source.value,
            "role": self.role,
            "signed_by": self.signed_by,
            "reason": self.reason,
        }


def index_signed_trust(custom: dict[str, Any] | None, role: str) -> FileTrust:
    """Level 1 or 2 from the ``custom.trust`` the index signed into a bin target."""
    claimed = trust_from_custom(custom)
    level = TrustLevel.INDEX_SIGNED
    note = ""
    if claimed is TrustLevel.INDEX_SIGNED_STRONG_AUTH:
        level = claimed
    elif claimed is not None and claimed > TrustLevel.INDEX_SIGNED_STRONG_AUTH:
        note = f"; its metadata claims level {int(claimed)}, which a bin cannot vouch for"
    how = (
        "scoped token or second factor"
        if level is TrustLevel.INDEX_SIGNED_STRONG_AUTH
        else "password or unscoped token"
    )
    return FileTrust(level, Source.INDEX_SIGNED, role, f"the index, {role}; {how}", note)
