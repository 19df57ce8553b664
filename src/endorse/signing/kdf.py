"""Argon2id cost parameters and derivation, shared by passphrase keys and key files.

The defaults (256 MiB of memory, 3 passes, 4 lanes) cost about 0.8 s of CPU
time per derivation on the machine they were measured on (docs/developer-keys.md)
and make every guess of an offline attacker move about 1.6 GB of memory. Tests
pass small parameters explicitly; anything weaker than the defaults is logged
as a warning when a key is made with it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import parse_qs

from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from endorse.errors import KeyUnavailable
from endorse.signing.secret import Secret

__all__ = ["DEFAULT_ARGON2", "Argon2Params", "derive", "parse_query", "warn_if_weak"]

logger = logging.getLogger(__name__)

#: Argon2 needs at least 8 KiB of memory per lane (RFC 9106, section 3.1).
_MIN_KIB_PER_LANE = 8


@dataclass(frozen=True)
class Argon2Params:
    """Argon2id cost: memory in KiB, passes over it, and lanes (parallelism)."""

    memory_kib: int = 256 * 1024
    iterations: int = 3
    lanes: int = 4

    def __post_init__(self) -> None:
        if self.lanes < 1 or self.iterations < 1:
            raise ValueError(f"Argon2id needs lanes >= 1 and iterations >= 1, got {self!r}")
        if self.memory_kib < _MIN_KIB_PER_LANE * self.lanes:
            raise ValueError(
                f"Argon2id needs at least {_MIN_KIB_PER_LANE * self.lanes} KiB "
                f"for {self.lanes} lanes, got memory_kib={self.memory_kib!r}"
            )

    @property
    def bytes_per_guess(self) -> int:
        """Memory traffic of one derivation: every block is written and read once per pass."""
        return 2 * self.memory_kib * 1024 * self.iterations

    def is_weaker_than(self, other: Argon2Params) -> bool:
        """Whether any cost is below ``other``'s."""
        return self.memory_kib < other.memory_kib or self.iterations < other.iterations

    def to_query(self) -> dict[str, str]:
        """The parameters as URI query fields ``m``, ``t``, ``p`` (RFC 9106 letters)."""
        return {"m": str(self.memory_kib), "t": str(self.iterations), "p": str(self.lanes)}

    @classmethod
    def from_query(cls, query: dict[str, list[str]], uri: str) -> Argon2Params:
        """Read ``m``, ``t``, ``p`` back from a parsed query string."""
        try:
            return cls(
                memory_kib=int(query["m"][0]),
                iterations=int(query["t"][0]),
                lanes=int(query["p"][0]),
            )
        except (KeyError, IndexError, ValueError) as e:
            raise KeyUnavailable(
                f"private key URI {uri!r} has no valid Argon2id parameters (m, t, p)",
                hint="the key descriptor was edited or truncated; make a new key",
            ) from e

    def describe(self) -> str:
        """Human-readable, for logs and docs."""
        return f"Argon2id m={self.memory_kib} KiB t={self.iterations} p={self.lanes}"


#: The cost every developer key is made with unless the caller passes another.
DEFAULT_ARGON2 = Argon2Params()


def derive(secret: Secret, salt: bytes, params: Argon2Params, *, length: int = 32) -> bytes:
    """Stretch ``secret`` (NFC-normalised UTF-8) with Argon2id."""
    kdf = Argon2id(
        salt=salt,
        length=length,
        iterations=params.iterations,
        lanes=params.lanes,
        memory_cost=params.memory_kib,
    )
    return kdf.derive(secret.normalized_bytes())


def parse_query(query: str) -> dict[str, list[str]]:
    """``parse_qs`` that keeps blank values, so a missing field is reported, not dropped."""
    return parse_qs(query, keep_blank_values=True, strict_parsing=False)


def warn_if_weak(params: Argon2Params, what: str) -> None:
    """Say so out loud when a key is made cheaper than the defaults (tests, old machines)."""
    if params.is_weaker_than(DEFAULT_ARGON2):
        logger.warning(
            "%s uses %s, weaker than the default %s: fine for tests, not for real keys",
            what,
            params.describe(),
            DEFAULT_ARGON2.describe(),
        )
