"""A secret string whose ``repr`` and ``str`` are masked.

Passphrases, key-file passwords and PINs travel inside :class:`Secret` so that a
traceback, a log line or a debugger's variable view shows ``Secret('**********')``
instead of the value (the same idea as Starlette's ``Secret``).
"""

from __future__ import annotations

import unicodedata

__all__ = ["Secret"]

_MASK = "**********"


class Secret:
    """Hold a secret; call :meth:`reveal` only where the value is consumed."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret value."""
        return self._value

    def normalized_bytes(self) -> bytes:
        """UTF-8 of the NFC form: the same passphrase typed on any system gives the same bytes."""
        return unicodedata.normalize("NFC", self._value).encode("utf-8")

    def __bool__(self) -> bool:
        return bool(self._value)

    def __len__(self) -> int:
        return len(self._value)

    def __repr__(self) -> str:
        return f"Secret({_MASK!r})"

    __str__ = __repr__

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("a Secret cannot be pickled")
